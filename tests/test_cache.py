"""ElastiCache as registered per stack: roles, eviction, encryption, AUTH."""

from __future__ import annotations

import json

import pytest

from components.data.redis_parameters import EVICTION_POLICIES
from tests.conftest import PROJECT, section, section_problems
from tests.harness.checks import nonempty

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def eviction_by_role(run) -> dict[str, str]:
    result = {}
    for group in run.of_type("aws:elasticache/parameterGroup:ParameterGroup"):
        role = group.name.split("-redis-")[1].removesuffix("-params")
        result[role] = {p["name"]: p["value"] for p in group.inputs["parameters"]}["maxmemory-policy"]
    return result


def test_prod_splits_sessions_from_the_api_cache(prod):
    assert eviction_by_role(prod) == {"sessions": "noeviction", "cache": "allkeys-lru"}
    assert len(prod.of_type(GROUP)) == 2


def test_staging_shares_one_group_that_evicts_only_ttl_keys(staging):
    assert eviction_by_role(staging) == {"shared": "volatile-ttl"}


def test_no_role_uses_a_policy_that_evicts_sessions():
    assert EVICTION_POLICIES["sessions"] == "noeviction"
    assert not EVICTION_POLICIES["shared"].startswith("allkeys")


def test_replication_groups_are_encrypted_authenticated_and_highly_available(run):
    replicas = section(run.stack, "cache")["replicasPerShard"]
    for group in nonempty(run.of_type(GROUP)):
        g = group.inputs
        assert g["atRestEncryptionEnabled"] is True and g["kmsKeyId"].startswith("arn:aws:kms:")
        assert g["transitEncryptionEnabled"] is True and g["transitEncryptionMode"] == "required"
        assert "authToken" in group.secret_paths
        assert g["automaticFailoverEnabled"] is True and g["multiAzEnabled"] is True
        assert g["numCacheClusters"] == replicas + 1
        assert g["subnetGroupName"] == f"sd-{run.stack}-cache" and g["subnetGroupName"] != "default"
        assert g["autoMinorVersionUpgrade"] is True
        assert g["snapshotRetentionLimit"] >= 1 and g["engine"] == "valkey"
        assert sorted(c["logType"] for c in g["logDeliveryConfigurations"]) == ["engine-log", "slow-log"]
        assert {c["destinationType"] for c in g["logDeliveryConfigurations"]} == {"cloudwatch-logs"}


def test_parameter_group_family_matches_engine(run):
    for group in nonempty(run.of_type("aws:elasticache/parameterGroup:ParameterGroup")):
        assert group.inputs["family"] == "valkey8"


def test_auth_token_uses_only_characters_elasticache_accepts(run):
    for token in nonempty(
        r for r in run.of_type("random:index/randomPassword:RandomPassword") if "auth-token" in r.name
    ):
        assert set(token.inputs["overrideSpecial"]) <= set("!&#$^<>-")
        assert 16 <= token.inputs["length"] <= 128
        assert token.state["result"] not in json.dumps([r.to_json() for r in run.resources])


def test_cache_port_open_only_to_data_clients(run):
    rules = [r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-redis-" in r.name]
    assert rules and all(r.inputs["fromPort"] == r.inputs["toPort"] == 6379 for r in rules)
    assert all(r.inputs["referencedSecurityGroupId"] == f"sd-{run.stack}-data-clients-id" for r in rules)
    assert not any("cidrIpv4" in r.inputs for r in rules)


@pytest.mark.parametrize("stack,protected", [("staging", False), ("prod", True)])
def test_groups_keys_and_secrets_protected_in_prod(stack, protected):
    from tests.conftest import program_run

    run = program_run(stack)
    stateful = [
        r
        for r in run.resources
        if "-redis-" in r.name and r.type in (GROUP, "aws:kms/key:Key", "aws:secretsmanager/secret:Secret")
    ]
    assert len(stateful) == 3 * len(run.of_type(GROUP))
    assert {r.protect for r in stateful} == {protected}


def test_engine_version_must_exist_for_the_engine():
    [problem] = section_problems("prod", "cache", engine="redis", engineVersion="8.0")
    assert "engineVersion '8.0' is not offered for redis; allowed: 7.0, 7.1" in problem


def test_layout_and_node_type_are_checked():
    problems = section_problems("prod", "cache", layout="separate", nodeType="r7g.large")
    assert any("cache.layout = 'separate': Input should be 'split' or 'shared'" in p for p in problems)
    assert any(p.startswith(f"{PROJECT}:cache.nodeType = 'r7g.large'") for p in problems)
