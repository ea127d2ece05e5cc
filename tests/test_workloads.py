"""Odoo, the API gateway, their HPAs, metrics, ingress and network policies, per stack."""

from __future__ import annotations

import re
import subprocess

import kubernetes_validate
import yaml

from components.k8s.hpa import LATENCY_P95, SCHEDULED_PODS
from components.observability.metrics_rules import served_metrics
from tests.conftest import ROOT, section
from tests.harness.checks import nonempty

SEED_HPAS = ROOT / "tests" / "fixtures" / "seed" / "hpa.yaml"
#: Checked by their own tests (Karpenter's schema, the SecretProviderClass objects) rather than here.
CUSTOM_RESOURCE_GROUPS = (
    "karpenter.",
    "monitoring.coreos.com",
    "helm.sh",
    "secrets-store.csi.x-k8s.io",
    # Validated against its pinned CRD in test_pod_security_groups.py.
    "vpcresources.k8s.aws",
)


def seed_hpas() -> dict[str, dict]:
    """infrastructure/k8s/hpa.yaml, as the seed has it."""
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(SEED_HPAS.read_text()) if doc}


def hpas(run) -> dict[str, dict]:
    return {
        h.inputs["metadata"]["name"]: h.inputs for h in run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    }


def deployments(run) -> dict[str, dict]:
    return {d.inputs["metadata"]["name"]: d.inputs for d in run.of_type("kubernetes:apps/v1:Deployment")}


def kubernetes_objects(run):
    for resource in run.resources:
        if resource.custom and resource.type.startswith("kubernetes:") and "kind" in resource.inputs:
            yield resource


def test_prod_hpas_equal_the_seed_field_by_field_but_their_maxima(prod):
    """The capacity model raised the maxima (docs/DESIGN.md "Capacity"): 20 Odoo and 15 gateway pods
    carry under 3,000 of the seed's 10,000 users; Odoo's scheduled floor adds one metric (README
    "Spikes"). Every other field is the seed's."""
    seed = seed_hpas()
    assert set(seed) == {"odoo-hpa", "api-gateway-hpa"}
    ours = hpas(prod)
    for name, expected in seed.items():
        assert ours[name]["metadata"]["namespace"] == expected["metadata"]["namespace"] == "smartdairy"
        spec, seed_spec = dict(ours[name]["spec"]), dict(expected["spec"])
        assert spec.pop("maxReplicas") > seed_spec.pop("maxReplicas"), name
        floors = [m for m in spec["metrics"] if m.get("external", {}).get("metric", {}).get("name") == SCHEDULED_PODS]
        spec["metrics"] = [m for m in spec["metrics"] if m not in floors]
        assert spec == seed_spec, name
        assert [f["external"]["metric"]["selector"] for f in floors] == (
            [{"matchLabels": {"workload": "odoo"}}] if name == "odoo-hpa" else []
        )


def test_staging_hpas_override_only_the_bounds(staging):
    seed, ours = seed_hpas(), hpas(staging)
    for name, bounds in (("odoo-hpa", (2, 6)), ("api-gateway-hpa", (2, 4))):
        spec = dict(ours[name]["spec"])
        assert (spec.pop("minReplicas"), spec.pop("maxReplicas")) == bounds
        expected = {k: v for k, v in seed[name]["spec"].items() if k not in ("minReplicas", "maxReplicas")}
        assert spec == expected


def test_no_hpa_target_sets_replicas(run):
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas(run).values()}
    assert targets == {"odoo", "api-gateway"}
    for name in targets:
        assert "replicas" not in deployments(run)[name]["spec"], name


def test_every_hpa_metric_is_served_by_the_adapter_with_the_right_target_type(run):
    [adapter] = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "prometheus-adapter"]
    served = served_metrics(adapter.inputs["values"]["rules"])
    checked = 0
    for hpa in hpas(run).values():
        for metric in hpa["spec"]["metrics"]:
            kind = metric["type"]
            if kind == "Resource":
                assert metric["resource"]["target"]["type"] == "Utilization"
                continue
            block = metric["pods" if kind == "Pods" else "external"]
            assert block["metric"]["name"] in served[kind], block["metric"]["name"]
            # A latency is compared whole; a rate per pod and a floor's pod count are shared out.
            expected_target = "Value" if block["metric"]["name"] == LATENCY_P95 else "AverageValue"
            assert block["target"]["type"] == expected_target
            checked += 1
    assert checked == {"staging": 2, "prod": 3}[run.stack]


def test_one_provider_serves_custom_and_external_metrics(run):
    names = [r.inputs["chart"] for r in run.of_type("kubernetes:helm.sh/v3:Release")]
    assert names.count("prometheus-adapter") == 1
    assert not any("keda" in n for n in names)


def test_every_kubernetes_object_passes_strict_schema_validation(run):
    version = f"{section(run.stack, 'cluster')['kubernetesVersion']}.0"
    validated = 0
    for resource in kubernetes_objects(run):
        if resource.inputs["apiVersion"].startswith(CUSTOM_RESOURCE_GROUPS):
            continue
        manifest = resource.plain_inputs
        kubernetes_validate.validate(manifest, version, strict=True)
        validated += 1
    assert validated >= 30


APP_NAMESPACE = "smartdairy"


def app_pods(run):
    for name, deployment in deployments(run).items():
        if deployment["metadata"]["namespace"] == APP_NAMESPACE:
            yield name, deployment["spec"]["template"]


def test_every_container_meets_the_restricted_pod_security_standard(run):
    # The restricted standard's volume types (csi: the Secrets Store driver's secret files).
    allowed_volumes = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected", "downwardAPI", "csi"}
    for name, template in nonempty(app_pods(run)):
        pod = template["spec"]
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), name
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= allowed_volumes, (name, volume)
        for container in pod["containers"] + pod.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] >= 10000, (name, container["name"])
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
            assert ctx["readOnlyRootFilesystem"] is True
            assert not container.get("ports") or all(p["containerPort"] >= 1024 for p in container["ports"])


def test_every_container_has_requests_limits_probes_and_a_pinned_image(run):
    for name, template in nonempty(app_pods(run)):
        for container in template["spec"]["containers"] + template["spec"].get("initContainers", []):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], name
            image = container["image"]
            assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
        for container in template["spec"]["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, (name, container["name"])
            assert container["readinessProbe"] != container["livenessProbe"]
        if name in ("odoo", "odoo-longpolling", "api-gateway"):
            assert "startupProbe" in template["spec"]["containers"][0]


def test_a_disruption_budget_per_deployment(run):
    budgets = [p.inputs for p in run.of_type("kubernetes:policy/v1:PodDisruptionBudget")]
    for name, template in nonempty(app_pods(run)):
        labels = template["metadata"]["labels"]
        matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1 and matching[0]["spec"]["maxUnavailable"] == 1, name


def test_rolling_updates_never_reduce_capacity(run):
    for name, deployment in nonempty(deployments(run).items()):
        if deployment["metadata"]["namespace"] == APP_NAMESPACE:
            assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name


def test_namespace_enforces_restricted(run):
    namespace = next(
        r.inputs for r in run.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == APP_NAMESPACE
    )
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def odoo_conf(run, key: str) -> dict[str, str]:
    config = next(
        c for c in run.of_type("kubernetes:core/v1:ConfigMap") if c.inputs["metadata"]["name"] == "odoo-config"
    )
    lines = config.inputs["data"][key].splitlines()[1:]
    return dict(line.split(" = ", 1) for line in lines)


def test_odoo_conf_goes_through_pgbouncer(run):
    web, bus = odoo_conf(run, "odoo.conf"), odoo_conf(run, "odoo-bus.conf")
    assert (web["db_host"], web["db_replica_host"], web["db_port"]) == ("pgbouncer-rw", "pgbouncer-ro", "5432")
    assert bus["db_host"] == "pgbouncer-session"
    assert web["list_db"] == "False" and web["proxy_mode"] == "True" and web["dbfilter"] == "^odoo$"
    odoo = section(run.stack, "workloads")["odoo"]
    assert web["workers"] == str(odoo["workers"]) and web["db_maxconn"] == str(odoo["dbMaxconn"])
    assert int(web["limit_memory_soft"]) < int(web["limit_memory_hard"])
    assert "session_redis" in web["server_wide_modules"].split(",")
    assert "admin_passwd" not in web and "db_password" not in web and "db_user" not in web


def test_odoo_draws_its_admin_password_per_pod_and_reads_its_database_user(tmp_path):
    """The init container's command, run by a real shell on files as the CSI driver writes them."""
    from components.apps.odoo_config import config_renderer

    (tmp_path / "db-username").write_text("odoo_clone")
    (tmp_path / "db-password").write_text("Abc123")
    (tmp_path / "odoo.conf").write_text("[options]\n")
    container = config_renderer(
        "odoo:18", "odoo.conf", [{"mountPath": str(tmp_path / "x")}, {"mountPath": str(tmp_path)}]
    )
    command = container["command"][-1].replace("/etc/odoo/", f"{tmp_path}/").replace("/run/odoo/", f"{tmp_path}/out-")
    runs = []
    for _ in range(2):
        subprocess.run(["/bin/sh", "-c", command], check=True)
        runs.append(dict(line.split(" = ") for line in (tmp_path / "out-odoo.conf").read_text().splitlines()[1:]))
    assert runs[0]["db_user"] == "odoo_clone" and runs[0]["db_password"] == "Abc123"
    assert len(runs[0]["admin_passwd"]) == 64 and runs[0]["admin_passwd"] != runs[1]["admin_passwd"]


def test_odoo_pods_share_an_rwx_filestore(run):
    claim = next(c.inputs for c in run.of_type("kubernetes:core/v1:PersistentVolumeClaim"))
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    classes = {c.inputs["metadata"]["name"]: c.inputs for c in run.of_type("kubernetes:storage.k8s.io/v1:StorageClass")}
    assert classes[claim["spec"]["storageClassName"]]["provisioner"] == "efs.csi.aws.com"
    filesystem = run.one("aws:efs/fileSystem:FileSystem").inputs
    assert filesystem["encrypted"] is True and filesystem["kmsKeyId"].startswith("arn:aws:kms:")
    assert len(run.of_type("aws:efs/mountTarget:MountTarget")) == 3
    for name in ("odoo", "odoo-longpolling"):
        volumes = deployments(run)[name]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "filestore", "persistentVolumeClaim": {"claimName": "odoo-filestore"}} in volumes


def test_sessions_go_to_the_session_redis(run):
    """Odoo's session_redis logs in as its user of the sessions group: the URL is a file the CSI
    driver mounts from that user's secret."""
    deployment = next(d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "odoo")
    env = {e["name"]: e.get("value") for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (
        env["ODOO_SESSION_REDIS_URL_FILE"] == "/run/secrets/odoo-aws/redis-url" and "ODOO_SESSION_REDIS_URL" not in env
    )
    [spc] = [
        c
        for c in run.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
        if c.inputs["metadata"]["name"] == "odoo-aws"
    ]
    secret = run.named(f"sd-{run.stack}-redis-sessions-odoo-sessions-secret", "aws:secretsmanager/secret:Secret")
    assert secret.state["arn"] in spc.inputs["spec"]["parameters"]["objects"]


def test_ingress_routes_and_alb_settings(run):
    ingress = run.one("kubernetes:networking.k8s.io/v1:Ingress").inputs
    notes = ingress["metadata"]["annotations"]
    assert notes["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert notes["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert notes["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTPS": 443}]'
    assert notes["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:eu-west-1:")
    [rule] = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes == {
        "/websocket": "odoo-longpolling",
        "/longpolling": "odoo-longpolling",
        "/api": "api-gateway",
        "/web": "odoo",
        "/": "odoo",
    }
    assert ingress["spec"]["ingressClassName"] == "alb"


def test_cloudfront_api_origin_is_the_alb_by_its_certificate_name(run):
    origin = run.named(f"sd-{run.stack}-ingress-origin", "aws:route53/record:Record")
    assert origin.inputs["type"] == "CNAME" and origin.inputs["records"][0].endswith(".elb.amazonaws.com")
    distribution = run.named(f"sd-{run.stack}-cdn", "aws:cloudfront/distribution:Distribution").plain_inputs
    api = next(o for o in distribution["origins"] if o["originId"] == "APIOrigin")
    assert api["domainName"] == origin.inputs["name"]


def test_network_policies_default_deny_then_the_design_flows(run):
    specs = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == "smartdairy"
    }
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    pgbouncer = specs["pgbouncer"]
    assert pgbouncer["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    isolated = sorted(
        s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "isolated"
    )
    assert sorted(peer["ipBlock"]["cidr"] for peer in pgbouncer["egress"][0]["to"]) == isolated
    gateway_egress = specs["api-gateway"]["egress"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "odoo"}}} in gateway_egress[0]["to"]
    # nobody but the apps, and the Jobs that run Odoo's code (the gateway's key, releases), may reach PgBouncer
    sources = [peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in pgbouncer["ingress"][0]["from"]]
    assert sorted(sources) == ["api-gateway", "odoo", "odoo-api-key", "odoo-longpolling", "odoo-release"]
    assert "allow-dns" in specs
    # Pods that sign AWS requests reach the Pod Identity agent; the rest do not.
    agent = {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    signers = sorted(name for name, spec in specs.items() if agent in spec.get("egress", []))
    assert signers == ["api-gateway", "odoo", "odoo-api-key", "odoo-release"]
    internet = [name for name, spec in specs.items() for rule in spec.get("egress", []) if "except" in str(rule)]
    assert sorted(internet) == ["api-gateway", "odoo-api-key", "odoo-release"]
