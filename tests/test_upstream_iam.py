"""Controller IAM against upstream: what the program registers grants exactly what the pinned
upstream policy grants, action by action, resource by resource, condition by condition.

A difference is allowed only when ALLOWED_DIFFERENCES names it with the reason; an unlisted
difference fails, and so does a listed one that no longer exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from components.compute.controller_policies import (
    KARPENTER_POLICY,
    LOAD_BALANCER_CONTROLLER_POLICY,
    SOURCES,
    karpenter_controller_policy,
    load_balancer_controller_policy,
)
from components.compute.karpenter_manifests import KARPENTER_VERSION
from stacks.schema.cluster import LoadBalancerControllerConfig
from synth.mock_outputs import ACCOUNT_ID
from tests.conftest import section

#: (effect, action, resource, condition JSON)
Permission = tuple[str, str, str, str]
#: controller -> {permission: why ours differs}. "+" grants more than upstream, "-" less.
ALLOWED_DIFFERENCES: dict[str, dict[tuple[str, Permission], str]] = {
    "karpenter": {},
    "aws-load-balancer-controller": {},
}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _canonical(condition: dict) -> str:
    """Condition values are sets: order and the single-value shorthand do not matter."""
    return json.dumps(
        {op: {key: sorted(map(str, _listed(v))) for key, v in body.items()} for op, body in condition.items()},
        sort_keys=True,
    )


def effective_permissions(document: dict) -> set[Permission]:
    """Each statement flattened to (effect, action, resource, condition); IAM actions ignore case."""

    def flatten() -> Iterator[Permission]:
        for statement in _listed(document["Statement"]):
            assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), "negations need their own model"
            condition = _canonical(statement.get("Condition", {}))
            for action in _listed(statement["Action"]):
                for resource in _listed(statement["Resource"]):
                    yield statement["Effect"], action.lower(), resource, condition

    return set(flatten())


def differences(ours: dict, upstream: dict) -> set[tuple[str, Permission]]:
    mine, theirs = effective_permissions(ours), effective_permissions(upstream)
    return {("+", p) for p in mine - theirs} | {("-", p) for p in theirs - mine}


def registered_policy(run, component: str, type_: str) -> dict:
    [policy] = [r for r in run.of_type(type_) if run.component_of(r) == component]
    return json.loads(policy.plain_inputs["policy"])


def karpenter_upstream(run) -> dict:
    [queue] = [
        q for q in run.of_type("aws:sqs/queue:Queue") if run.component_of(q) == "smartdairy:autoscaling:Karpenter"
    ]
    node_role = run.named(f"sd-{run.stack}-node", "aws:iam/role:Role")
    cluster = run.one("aws:eks/cluster:Cluster")
    return karpenter_controller_policy(
        cluster.inputs["name"], "aws", run.config["aws:region"], ACCOUNT_ID, queue.state["arn"], node_role.state["arn"]
    )


def test_karpenter_controller_policy_equals_upstream(run):
    ours = registered_policy(run, "smartdairy:autoscaling:Karpenter", "aws:iam/rolePolicy:RolePolicy")
    assert differences(ours, karpenter_upstream(run)) == set(ALLOWED_DIFFERENCES["karpenter"])


def test_load_balancer_controller_policy_equals_upstream(run):
    ours = registered_policy(run, "smartdairy:ingress_controller:LoadBalancerController", "aws:iam/policy:Policy")
    upstream = load_balancer_controller_policy()
    assert differences(ours, upstream) == set(ALLOWED_DIFFERENCES["aws-load-balancer-controller"])


def test_karpenter_may_create_the_instance_profiles_it_tags(run):
    """Karpenter 1.9 tags instance profiles with its EC2NodeClass, never a NodePool."""
    ours = registered_policy(run, "smartdairy:autoscaling:Karpenter", "aws:iam/rolePolicy:RolePolicy")
    create = [s for s in ours["Statement"] if "iam:CreateInstanceProfile" in _listed(s["Action"])]
    assert create and all(
        "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass" in s["Condition"]["StringLike"]
        and "aws:RequestTag/karpenter.sh/nodepool" not in s["Condition"]["StringLike"]
        for s in create
    )


def test_load_balancer_controller_may_open_the_cluster_security_group(run):
    """Targets are pod IPs behind the EKS cluster security group, which carries none of the
    controller's tags: the ALB -> pod rule needs ingress rights on an untagged group."""
    ours = registered_policy(run, "smartdairy:ingress_controller:LoadBalancerController", "aws:iam/policy:Policy")
    assert ("Allow", "ec2:authorizesecuritygroupingress", "*", "{}") in effective_permissions(ours)


def test_the_comparison_sees_a_narrowed_condition(run):
    """The checker itself: re-adding the old `nodepool` condition is reported as a difference."""
    upstream = karpenter_upstream(run)
    narrowed = json.loads(json.dumps(upstream))
    statement = next(s for s in narrowed["Statement"] if s["Sid"] == "AllowScopedInstanceProfileCreationActions")
    statement["Condition"]["StringLike"] = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    assert {sign for sign, _ in differences(narrowed, upstream)} == {"+", "-"}


def test_vendored_karpenter_policy_is_of_the_pinned_version():
    source = SOURCES[KARPENTER_POLICY]
    assert source["version"] == KARPENTER_VERSION, (
        f"Karpenter is pinned to {KARPENTER_VERSION}: refresh components/compute/vendor/{KARPENTER_POLICY} from "
        f"{source['repository']} at v{KARPENTER_VERSION} ({source['path']}) and update SOURCES.json"
    )


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_vendored_load_balancer_controller_policy_is_of_the_pinned_version(stack):
    pinned = LoadBalancerControllerConfig.model_validate(section(stack, "cluster").get("loadBalancerController", {}))
    source = SOURCES[LOAD_BALANCER_CONTROLLER_POLICY]
    chart, image = pinned.chart_version, pinned.image_tag
    assert (source["chart_version"], source["version"]) == (chart, image), (
        f"{stack} pins chart {chart} / controller {image}: refresh components/compute/vendor/"
        f"{LOAD_BALANCER_CONTROLLER_POLICY} from {source['repository']} at {image} ({source['path']})"
    )
