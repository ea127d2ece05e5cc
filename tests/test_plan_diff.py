"""The offline plan: synth twice with a changed config (or a changed synth output) and assert
exactly what a reviewer is told, secrets included (that they changed, never their value)."""

from __future__ import annotations

import copy
import json

import pytest

from synth.mock_runtime import run_program
from tests.conftest import PROJECT, program_run, section, with_section
from tools.plan_diff import main, plan, render_markdown, render_text


def resources(run) -> list[dict]:
    return [r.to_json() for r in run.resources]


@pytest.fixture(scope="module")
def staging() -> list[dict]:
    return resources(program_run("staging"))


def changed(stack: str, key: str, **overrides) -> list[dict]:
    config = with_section(stack, f"{PROJECT}:{key}", section(stack, key) | overrides)
    return resources(run_program(stack, config=config))


def actions(result) -> set[tuple[str, str, str]]:
    return {(c.action, c.type, c.name) for cs in result.changes.values() for c in cs}


def test_one_more_read_replica(staging):
    result = plan(staging, changed("staging", "database", replicas=2))
    # The pool's ConfigMap is replaced, as pulumi-kubernetes replaces a ConfigMap whose data
    # changes (enableConfigMapMutable is off); its Deployment then rolls.
    assert result.summary() == "+8 ~2 -0 +-1"
    alarms = {"connections", "cpu", "lag", "memory", "read-io-latency", "storage", "write-io-latency"}
    assert actions(result) == {
        ("create", "aws:rds/instance:Instance", "sd-staging-db-replica-2"),
        *(("create", "aws:cloudwatch/metricAlarm:MetricAlarm", f"sd-staging-alarms-rds-replica-2-{a}") for a in alarms),
        ("update", "aws:cloudwatch/dashboard:Dashboard", "sd-staging-slo-dashboard-dashboard"),
        ("replace", "kubernetes:core/v1:ConfigMap", "sd-staging-pgbouncer-ro-config"),
        ("update", "kubernetes:apps/v1:Deployment", "sd-staging-pgbouncer-ro"),
    }
    text = render_text(result, "staging")
    # The ro pool now spreads over both replicas: shown as a line of its pgbouncer.ini.
    assert (
        "+  - odoo = host=sd-staging-db-replica-1.abcdefghij.eu-west-1.rds.amazonaws.com,sd-staging-db-replica-2"
        in text
    )


def test_a_new_vpc_range_replaces_the_vpc_and_its_subnets(staging):
    cidr = section("staging", "network")["cidr"]
    result = plan(staging, changed("staging", "network", cidr=cidr.replace("10.20.", "10.21.")))
    replaced = {name for action, type_, name in actions(result) if action == "replace"}
    subnets = {r["name"] for r in staging if r["type"] == "aws:ec2/subnet:Subnet"}
    assert replaced == {"sd-staging-vpc"} | subnets and len(subnets) == 9
    [vpc] = [c for cs in result.changes.values() for c in cs if c.type == "aws:ec2/vpc:Vpc"]
    assert vpc.details == [f'cidrBlock: "{cidr}" -> "{cidr.replace("10.20.", "10.21.")}" (forces replacement)']
    assert not result.dangerous  # nothing in staging is protected
    # And 29 updates: the security group rules (data clients, the ALB, the rotation function's
    # way to the isolated subnets, three per pod group of the four), network policies naming the
    # range (the apps', the database bootstrap's, monitoring's API server, API proxy and scrape
    # rules) and the runner's route back.
    assert result.summary() == "+0 ~29 -0 +-10"


def test_replacing_a_protected_database_is_flagged_loudly():
    old = resources(program_run("prod"))
    new = copy.deepcopy(old)
    replica = next(r for r in new if r["name"] == "sd-prod-db-replica-1")
    replica["inputs"]["availabilityZone"] = "eu-west-1c"
    result = plan(old, new)
    assert result.summary() == "+0 ~0 -0 +-1 (1 replacement or deletion of a protected resource)"
    text = render_text(result, "prod")
    assert text.splitlines()[1] == "!! PROTECTED aws:rds/instance:Instance sd-prod-db-replica-1 would be replaced"
    markdown = render_markdown(result, "prod")
    assert markdown.startswith("### prod: `+0 ~0 -0 +-1 (1 replacement or deletion of a protected resource)`")
    assert "**:warning: protected `aws:rds/instance:Instance` `sd-prod-db-replica-1` would be replaced**" in markdown


def test_a_rotated_secret_says_so_and_never_shows_a_value():
    run = program_run("staging")
    old = resources(run)
    new = copy.deepcopy(old)
    origin = next(r for r in new if r["name"] == "sd-staging-ingress-origin-secret")
    assert origin["inputs"]["result"] == "[secret]" if "result" in origin["inputs"] else True
    cdn = next(r for r in new if r["type"] == "aws:cloudfront/distribution:Distribution")
    assert cdn["inputs"]["origins"] == "[secret]"
    cdn["secretDigests"]["origins"] = "0" * 12
    text = render_text(plan(old, new), "staging")
    assert "origins: (secret) -> (secret changed)" in text
    token = next(r for r in run.resources if r.name == "sd-staging-ingress-origin-secret").state["result"]
    assert token not in text and token not in json.dumps(new)


def test_markdown_folds_each_component(staging):
    markdown = render_markdown(plan(staging, changed("staging", "database", replicas=2)), "staging")
    assert markdown.splitlines()[0] == "### staging: `+8 ~2 -0 +-1`"
    assert (
        "<details><summary><code>smartdairy:observability:CloudWatchAlarms sd-staging-alarms</code> +7</summary>"
        in markdown
    )
    assert markdown.count("<details>") == markdown.count("</details>") == 4


def test_the_command_compares_two_files(tmp_path, staging, capsys):
    (tmp_path / "old.json").write_text(json.dumps(staging))
    (tmp_path / "new.json").write_text(json.dumps(staging))
    assert main([str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    assert capsys.readouterr().out.strip().endswith(": no changes")


def test_every_weakening_is_listed_first_with_old_and_new():
    """Protection turned off, backups shortened, encryption or public access flipped, wider CIDRs:
    each is named before the per-component detail, in text and in the PR comment."""
    old = resources(program_run("prod"))
    new = copy.deepcopy(old)
    by_name = {r["name"]: r for r in new}
    primary = by_name["sd-prod-db-primary"]
    primary["inputs"] |= {"deletionProtection": False, "skipFinalSnapshot": True, "backupRetentionPeriod": 3}
    primary["options"]["protect"] = False
    cluster = next(r for r in new if r["type"] == "aws:eks/cluster:Cluster")
    cluster["inputs"]["vpcConfig"] |= {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}
    group = next(r for r in new if r["type"] == "aws:elasticache/replicationGroup:ReplicationGroup")
    group["inputs"]["transitEncryptionEnabled"] = False
    rule = next(
        r
        for r in new
        if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and r["inputs"].get("cidrIpv4")
    )
    narrower = rule["inputs"]["cidrIpv4"]
    rule["inputs"]["cidrIpv4"] = "10.0.0.0/8"
    result = plan(old, new)
    found = {(c.name, w) for c in result.weakening for w in c.weakenings}
    assert found == {
        ("sd-prod-db-primary", "protect: true -> false"),
        ("sd-prod-db-primary", "deletionProtection: true -> false"),
        ("sd-prod-db-primary", "skipFinalSnapshot: false -> true"),
        ("sd-prod-db-primary", "backupRetentionPeriod: 14 -> 3"),
        (cluster["name"], "vpcConfig.endpointPublicAccess: false -> true"),
        (cluster["name"], 'vpcConfig.publicAccessCidrs: null -> ["0.0.0.0/0"]'),
        (group["name"], "transitEncryptionEnabled: true -> false"),
        (rule["name"], f'cidrIpv4: "{narrower}" -> "10.0.0.0/8"'),
    }, found
    assert "(4 weakened protection)" in result.summary()
    lines = render_text(result, "prod").splitlines()
    assert all(line.startswith("!! WEAKENS ") for line in lines[1:9]), lines[:10]
    assert "**:warning: weakens `aws:rds/instance:Instance` `sd-prod-db-primary`: `protect: true -> false`**" in (
        render_markdown(result, "prod")
    )


def test_tightening_is_not_a_weakening():
    old = resources(program_run("prod"))
    new = copy.deepcopy(old)
    primary = next(r for r in new if r["type"] == "aws:rds/instance:Instance" and "primary" in r["name"])
    primary["inputs"] |= {"storageEncrypted": True, "backupRetentionPeriod": 21}
    rule = next(
        r
        for r in new
        if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and r["inputs"].get("cidrIpv4")
    )
    network, prefix = rule["inputs"]["cidrIpv4"].split("/")
    rule["inputs"]["cidrIpv4"] = f"{network}/{int(prefix) + 1}"
    result = plan(old, new)
    assert result.counts()["update"] == 2 and not result.weakening and "weakened" not in result.summary()


def test_a_change_kubernetes_refuses_to_update_shows_as_a_replacement(staging):
    """A Deployment's selector: the API server says "field is immutable" (tests/test_cluster_real.py)
    and the provider replaces the object (its forceNew list); the plan says so."""
    old = staging
    new = copy.deepcopy(old)
    deployment = next(r for r in new if r["type"] == "kubernetes:apps/v1:Deployment")
    deployment["inputs"]["spec"]["selector"]["matchLabels"]["extra"] = "label"
    replicas = next(r for r in new if r["type"] == "kubernetes:apps/v1:Deployment" and r is not deployment)
    replicas["inputs"]["spec"]["replicas"] = 7
    result = plan(old, new)
    actions_by_name = {name: action for action, _, name in actions(result)}
    assert actions_by_name[deployment["name"]] == "replace"
    assert actions_by_name[replicas["name"]] == "update"
    warning = f"!  REPLACES kubernetes:apps/v1:Deployment {deployment['name']}: spec.selector.matchLabels.extra changed"
    assert warning in render_text(result, "Plan")
    assert ":recycle: replaces" in render_markdown(result, "Plan")
