"""The seed's load test: our k6 script keeps the seed's scenarios and thresholds (evaluated with
Node, k6's modules stubbed), its journey is the one the capacity model assumes, and the stack's
`loadTest` section renders a TestRun the pinned k6-operator CRD accepts, with the WAF's rate
limit opened only for the generators and only while the test is enabled."""

from __future__ import annotations

import functools
import json
import subprocess

import jsonschema
import pytest
import yaml

from capacity.assumptions import Assumptions
from synth.mock_runtime import run_program
from tests.conftest import PROJECT, ROOT, program_run, section, with_section
from tests.harness.k6 import k6_exports, node
from tests.test_deploy_readiness import waits_for
from tools import load_test as load_test_tool

SCRIPT = ROOT / "components" / "apps" / "loadtest" / "full_load_test.js"
SEED_SCRIPT = ROOT / "tests" / "fixtures" / "seed" / "full_load_test.js"
TESTRUN_SCHEMA = ROOT / "tests" / "fixtures" / "k6-operator" / "testrun-v1alpha1.schema.json"
TESTRUN = "kubernetes:k6.io/v1alpha1:TestRun"


@pytest.mark.parametrize("script", [SCRIPT, SEED_SCRIPT], ids=["ours", "seed"])
def test_the_scripts_parse_as_es_modules(script):
    done = subprocess.run([node(), "--check", str(script)], capture_output=True, text=True, cwd=SCRIPT.parent)
    assert done.returncode == 0, done.stderr


def test_scenarios_and_thresholds_are_the_seeds():
    ours, seed = k6_exports(SCRIPT)["options"], k6_exports(SEED_SCRIPT)["options"]
    assert ours == seed
    assert ours["thresholds"]["http_req_duration"] == ["p(95)<300", "p(99)<500"]
    assert ours["scenarios"]["ramp_up"]["stages"][4] == {"duration": "10m", "target": 10000}


def test_a_chosen_scenario_runs_alone_and_at_once():
    scenarios = k6_exports(SCRIPT, {"SCENARIOS": "spike_test"})["options"]["scenarios"]
    assert list(scenarios) == ["spike_test"] and "startTime" not in scenarios["spike_test"]
    with pytest.raises(RuntimeError, match="unknown scenario nope"):
        k6_exports(SCRIPT, {"SCENARIOS": "nope"})


def test_the_journey_is_the_one_the_capacity_model_assumes():
    journey, a = k6_exports(SCRIPT)["journey"], Assumptions()
    assert journey["authenticatedShare"] == a.authenticated_share
    assert (journey["addToCartShare"], journey["orderShare"]) == (a.add_to_cart_share, a.order_share)
    pause = journey["thinkTimeSeconds"]
    assert (pause["min"] + pause["max"]) / 2 == a.think_time_s


@functools.cache
def enabled_run():
    """Staging with the load test on (run once per session)."""
    config = with_section("staging", f"{PROJECT}:loadTest", {"enabled": True, "runId": "r7", "parallelism": 4})
    return run_program("staging", config=config)


@pytest.fixture(scope="module")
def enabled():
    return enabled_run()


def test_the_test_run_validates_against_the_pinned_crd(enabled):
    [run] = enabled.of_type(TESTRUN)
    manifest = {"apiVersion": "k6.io/v1alpha1", "kind": "TestRun", **run.inputs}
    jsonschema.validate(manifest, json.loads(TESTRUN_SCHEMA.read_text()))
    spec = run.inputs["spec"]
    assert run.inputs["metadata"] == {"name": "seed-load-r7", "namespace": "loadtest"}
    assert spec["parallelism"] == 4 and spec["arguments"].startswith("--out experimental-prometheus-rw")
    env = {e["name"]: e["value"] for e in spec["runner"]["env"]}
    assert env["BASE_URL"] == f"https://{section('staging', 'cdn')['domain']}"
    assert env["K6_PROMETHEUS_RW_SERVER_URL"].endswith(".monitoring.svc:9090/api/v1/write")


def test_every_k6_image_is_pinned_and_every_pod_hardened(enabled):
    spec = enabled.one(TESTRUN).inputs["spec"]
    for part in ("initializer", "starter", "runner"):
        assert not spec[part]["image"].endswith(":latest") and ":" in spec[part]["image"], part
        assert spec[part]["securityContext"]["runAsNonRoot"] is True
        assert spec[part]["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_script_ships_as_is_and_the_run_waits_for_the_operator(enabled):
    script = next(
        m for m in enabled.of_type("kubernetes:core/v1:ConfigMap") if m.inputs["metadata"]["name"] == "k6-scripts"
    )
    assert script.inputs["data"] == {"full_load_test.js": SCRIPT.read_text()}
    operator = next(r for r in enabled.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "k6-operator")
    assert operator.inputs["version"] == "4.6.0"
    assert waits_for(enabled, enabled.one(TESTRUN), operator)


def test_prometheus_accepts_the_results_only_while_enabled(enabled):
    def receiver(run):
        release = next(
            r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack"
        )
        return release.inputs["values"]["prometheus"]["prometheusSpec"]["enableRemoteWriteReceiver"]

    assert receiver(enabled) is True and receiver(program_run("staging")) is False


def test_the_rate_limit_spares_the_generators_only_while_enabled(enabled):
    [ip_set] = enabled.of_type("aws:wafv2/ipSet:IpSet")
    assert ip_set.inputs["addresses"] == ["203.0.113.10/32"]  # the staging NAT's address
    acl = next(a for a in enabled.of_type("aws:wafv2/webAcl:WebAcl") if a.inputs["scope"] == "CLOUDFRONT")
    rate = next(r for r in acl.inputs["rules"] if r["name"] == "rate-limit-per-ip")
    scope = rate["statement"]["rateBasedStatement"]["scopeDownStatement"]
    assert scope["notStatement"]["statement"]["ipSetReferenceStatement"]["arn"] == ip_set.state["arn"]
    baseline = program_run("staging")
    assert not baseline.of_type("aws:wafv2/ipSet:IpSet") and not baseline.of_type(TESTRUN)


def test_the_load_test_namespace_denies_all_but_its_flows(enabled):
    """Default deny; then DNS, HTTPS to the internet (never a private range), Prometheus's remote
    write, and the runners' API inside the namespace."""
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in enabled.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == "loadtest"
    }
    assert set(policies) == {"default-deny", "allow-dns", "allow-target", "allow-remote-write", "allow-k6-api"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    [target] = policies["allow-target"]["egress"]
    assert target["ports"] == [{"protocol": "TCP", "port": 443}]
    assert target["to"] == [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}
    ]
    [write] = policies["allow-remote-write"]["egress"]
    [run] = [r for r in enabled.resources if r.type == "kubernetes:k6.io/v1alpha1:TestRun"]
    env = run.inputs["spec"]["runner"]["env"]
    remote_write = next(e["value"] for e in env if e["name"] == "K6_PROMETHEUS_RW_SERVER_URL")
    port = int(remote_write.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    namespace = remote_write.split(".")[1]
    assert write == {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}],
                     "ports": [{"protocol": "TCP", "port": port}]}  # fmt: skip


def test_only_prometheus_reaches_the_operator_whose_namespace_the_release_owns(enabled):
    """The operator serves no webhook; Prometheus scrapes it (the chart's ServiceMonitor). The
    release creates the namespace, so the chart must not render it too."""
    [policy] = [
        p.inputs
        for p in enabled.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == "k6-operator"
    ]
    assert policy["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}],
    }
    [release] = [r for r in enabled.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "k6-operator"]
    assert release.inputs["createNamespace"] is True and release.inputs["values"]["namespace"] == {"create": False}


JOB = "kubernetes:batch/v1:Job"
PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def job(run, name: str):
    return next(j for j in run.of_type(JOB) if j.inputs["metadata"]["name"] == name)


def test_the_run_waits_for_its_data_which_waits_for_the_seeders_own_key(enabled):
    issuer, seeding = job(enabled, "loadtest-seeder-key-r7"), job(enabled, "loadtest-seeder-seed-r7")
    assert waits_for(enabled, seeding, issuer) and waits_for(enabled, enabled.one(TESTRUN), seeding)
    [issue] = issuer.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in issue["env"]}
    assert env["SERVICE_LOGIN"] == "loadtest-seeder" and "base.group_system" not in env["SERVICE_GROUPS"]
    assert env["ROTATION_DAYS"] == "1", "a key for one run"


def test_the_cleanups_wait_suspended_for_whoever_ran_the_test(enabled):
    """They exist before the data does (a half-failed seeding has one); resumed in this order."""
    seeding = job(enabled, "loadtest-seeder-seed-r7")
    for name in load_test_tool.cleanup_jobs("r7"):
        cleanup = job(enabled, name)
        assert cleanup.inputs["spec"]["suspend"] is True
        assert cleanup.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
        assert cleanup.ignore_changes == ["spec.suspend"], "a later up leaves a resumed cleanup alone"
    data, revoke = (job(enabled, name) for name in load_test_tool.cleanup_jobs("r7"))
    assert waits_for(enabled, seeding, data)
    [container] = revoke.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["REVOKE"] == "1" and env["SERVICE_LOGIN"] == "loadtest-seeder"


def test_the_seeder_holds_its_own_key_and_no_database_credential(enabled):
    """Its pods mount one secret, the one its issuer writes; they reach Odoo's web pods only."""
    issuer, seeding = job(enabled, "loadtest-seeder-key-r7"), job(enabled, "loadtest-seeder-seed-r7")
    [issue] = issuer.inputs["spec"]["template"]["spec"]["containers"]
    key_arn = next(e["value"] for e in issue["env"] if e["name"] == "KEY_SECRET_ARN")
    classes = {c.inputs["metadata"]["name"]: c for c in enabled.of_type(PROVIDER_CLASS)}
    volumes = seeding.inputs["spec"]["template"]["spec"]["volumes"]
    [mounted] = [v["csi"]["volumeAttributes"]["secretProviderClass"] for v in volumes if "csi" in v]
    objects = yaml.safe_load(classes[mounted].inputs["spec"]["parameters"]["objects"])
    assert [o["objectName"] for o in objects] == [key_arn]
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in enabled.of_type(NETWORK_POLICY)}
    seeder = policies["loadtest-seeder"]
    odoo_labels = policies["odoo"]["podSelector"]["matchLabels"]
    assert seeder["egress"][0]["to"] == [{"podSelector": {"matchLabels": odoo_labels}}]
    assert all(rule["ports"][0]["port"] == 53 for rule in seeder["egress"][1:]), "then DNS only"
    admitted = [
        peer["podSelector"]["matchLabels"]
        for rule in policies["odoo"]["ingress"]
        for peer in rule["from"]
        if "podSelector" in peer
    ]
    assert seeder["podSelector"]["matchLabels"] in admitted
    pgbouncer = [peer["podSelector"]["matchLabels"] for peer in policies["pgbouncer"]["ingress"][0]["from"]]
    assert issuer.inputs["spec"]["template"]["metadata"]["labels"] in pgbouncer
    assert seeder["podSelector"]["matchLabels"] not in pgbouncer
