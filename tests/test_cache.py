"""ElastiCache as registered per stack: roles, eviction, encryption, RBAC users."""

from __future__ import annotations

import json

import pytest

from components.data.redis_acl import LAYOUTS, access_string
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


def test_every_stack_splits_sessions_from_the_api_cache(run):
    assert eviction_by_role(run) == {"sessions": "noeviction", "cache": "allkeys-lru"}
    assert len(run.of_type(GROUP)) == 2


def test_a_shared_group_is_refused_in_one_line_naming_the_key():
    """The gateway's cache client lists key names: beside the session ids it would read them."""
    [problem] = section_problems("staging", "cache", layout="shared")
    assert problem.startswith(f"{PROJECT}:cache") and "layout: shared is unsafe" in problem
    assert "gateway-cache lists key names (keys) beside odoo-sessions's keys" in problem


def test_no_role_uses_a_policy_that_evicts_sessions():
    assert EVICTION_POLICIES["sessions"] == "noeviction"
    assert not EVICTION_POLICIES["shared"].startswith("allkeys")


def test_replication_groups_are_encrypted_authenticated_and_highly_available(run):
    replicas = section(run.stack, "cache")["replicasPerShard"]
    for group in nonempty(run.of_type(GROUP)):
        g = group.inputs
        assert g["atRestEncryptionEnabled"] is True and g["kmsKeyId"].startswith("arn:aws:kms:")
        assert g["transitEncryptionEnabled"] is True and g["transitEncryptionMode"] == "required"
        assert "authToken" not in g and g["userGroupIds"] == [f"sd-{run.stack}-{group.name.rsplit('-', 1)[-1]}"]
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


def test_each_client_logs_in_as_its_own_user_limited_to_its_keys(run):
    """A user per client in its group's user group, with the access string proven on a real
    Redis (tests/test_redis_acl.py); no default user (Valkey groups need none)."""
    users = {u.inputs["userName"]: u.inputs for u in run.of_type("aws:elasticache/user:User")}
    expected = {client.name: client for clients in LAYOUTS["split"].values() for client in clients}
    assert set(users) == set(expected)
    for name, user in users.items():
        assert user["accessString"] == access_string(expected[name]) and user["engine"] == "valkey"
        assert user["userId"] == f"sd-{run.stack}-{name}"
    groups = {g.inputs["userGroupId"]: g.inputs["userIds"] for g in run.of_type("aws:elasticache/userGroup:UserGroup")}
    assert groups == {
        f"sd-{run.stack}-{role}": [f"sd-{run.stack}-{c.name}" for c in clients]
        for role, clients in LAYOUTS["split"].items()
    }


def test_every_user_password_rotates_at_once_and_the_first_dies(run):
    """The program's first passwords are handed to ElastiCache, then replaced by the first
    rotation; the function may modify exactly these users."""
    users = run.of_type("aws:elasticache/user:User")
    for user in nonempty(users):
        assert user.ignore_changes == ["authenticationMode", "passwords"]
    rotations = [r for r in run.of_type("aws:secretsmanager/secretRotation:SecretRotation") if "-redis-" in r.name]
    assert len(rotations) == len(users) and all(r.inputs["rotateImmediately"] for r in rotations)
    grants = [
        json.loads(p.inputs["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if "-redis-" in p.name
    ]
    modifies = [
        s
        for g in grants
        for s in g["Statement"]
        if s["Action"] == ["elasticache:ModifyUser", "elasticache:DescribeUsers"]
    ]
    assert sorted(arn for s in modifies for arn in s["Resource"]) == sorted(u.state["arn"] for u in users)


@pytest.mark.parametrize(
    "group,workloads", [("sessions", {"odoo", "api-gateway"}), ("cache", {"api-gateway"})], ids=["sessions", "cache"]
)
def test_each_group_admits_only_the_pods_of_its_users_and_the_rotation(run, group, workloads):
    """Odoo's sessions and the gateway's rate limits share the noeviction group; the gateway
    alone reads the cache. No node, no CIDR."""
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith(f"sd-{run.stack}-redis-{group}-sg-")
    ]
    assert rules and all(r.inputs["fromPort"] == r.inputs["toPort"] == 6379 for r in rules)
    pods = {f"sd-{run.stack}-pods-{workload}-id" for workload in workloads}
    rotation = f"sd-{run.stack}-credential-rotation-sg-id"
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == pods | {rotation}
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
    assert len(stateful) == 2 * len(run.of_type(GROUP)) + len(run.of_type("aws:elasticache/user:User"))
    assert {r.protect for r in stateful} == {protected}


def test_engine_version_must_exist_for_the_engine():
    [problem] = section_problems("prod", "cache", engine="redis", engineVersion="8.0")
    assert "engineVersion '8.0' is not offered for redis; allowed: 7.0, 7.1" in problem


def test_layout_and_node_type_are_checked():
    problems = section_problems("prod", "cache", layout="separate", nodeType="r7g.large")
    assert any("cache.layout = 'separate': Input should be 'split' or 'shared'" in p for p in problems)
    assert any(p.startswith(f"{PROJECT}:cache.nodeType = 'r7g.large'") for p in problems)
