"""Security groups for pods: the data stores admit the groups of the pods that use them, the
pods wear those groups through SecurityGroupPolicies EKS accepts, and nothing else reaches them."""

from __future__ import annotations

import json

import jsonschema

from tests.conftest import ROOT
from tests.harness.checks import nonempty
from tests.test_deploy_readiness import waits_for

SGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SGP_SCHEMA = ROOT / "tests" / "fixtures" / "vpc-resource-controller" / "securitygrouppolicy-v1beta1.schema.json"
POD_OWNERS = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")
#: The data stores' groups, by the port a NetworkPolicy opens towards the isolated tier.
STORE_GROUPS = {5432: ("-db-sg",), 6379: ("-redis-sessions-sg", "-redis-cache-sg"), 443: ("-search-sg",)}


def closed(schema: dict) -> dict:
    """The CRD's schema as the API server applies it: fields it does not declare are unknown."""
    if schema.get("type") == "object" and "properties" in schema:
        schema = {**schema, "additionalProperties": False}
        schema["properties"] = {key: closed(value) for key, value in schema["properties"].items()}
    if "items" in schema:
        schema = {**schema, "items": closed(schema["items"])}
    return schema


def pod_templates(run):
    """(owner, pod template) of every Deployment, Job and CronJob."""
    for owner in run.resources:
        if owner.type in POD_OWNERS:
            spec = owner.inputs["spec"]
            yield owner, (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def policies_selecting(run, namespace: str, labels: dict) -> list:
    return [
        policy
        for policy in run.of_type(SGP)
        if policy.inputs["metadata"]["namespace"] == namespace and selects(policy.inputs["spec"]["podSelector"], labels)
    ]


def groups_worn(run, namespace: str, labels: dict) -> list[str]:
    return [
        group
        for policy in policies_selecting(run, namespace, labels)
        for group in policy.inputs["spec"]["securityGroups"]["groupIds"]
    ]


def test_every_policy_validates_against_the_pinned_crd(run):
    schema = closed(json.loads(SGP_SCHEMA.read_text()))
    for policy in nonempty(run.of_type(SGP)):
        manifest = {"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy", **policy.plain_inputs}
        jsonschema.validate(manifest, schema)


def test_each_pod_wears_one_group_and_is_created_after_its_policy(run):
    """One group per pod (the load balancer controller opens the ALB's port on a pod ENI's only
    group), and the webhook only acts on a pod's creation: the owner waits for the policy."""
    worn = 0
    for owner, template in pod_templates(run):
        namespace = owner.inputs["metadata"]["namespace"]
        groups = groups_worn(run, namespace, template["metadata"]["labels"])
        assert len(groups) <= 1, owner.name
        if groups:
            worn += 1
            assert not template["spec"].get("hostNetwork"), owner.name
            [policy] = policies_selecting(run, namespace, template["metadata"]["labels"])
            assert waits_for(run, owner, policy), owner.name
            if owner.type == "kubernetes:apps/v1:Deployment":
                # ... and rolls when its group changes: running pods keep the ENI they have.
                assert template["metadata"]["annotations"]["smartdairy.io/security-group"] == groups[0]
    # PgBouncer's three pools, Odoo's web and bus, the gateway, the bootstrap and migration Jobs.
    assert worn == 8


def test_a_pod_that_may_reach_a_data_store_wears_a_group_the_store_admits(run):
    """The two layers agree: every pod a NetworkPolicy lets out to a store's port in the
    isolated tier wears a group that the store's security group admits on that port."""
    isolated = {s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet") if "-isolated-" in s.name}
    checked = 0
    for policy in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in policy.inputs["spec"].get("egress", []):
            cidrs = {peer["ipBlock"]["cidr"] for peer in rule.get("to", []) if "ipBlock" in peer}
            if not cidrs or not cidrs <= isolated:
                continue
            for port in (p["port"] for p in rule["ports"]):
                for owner, template in pod_templates(run):
                    namespace, labels = owner.inputs["metadata"]["namespace"], template["metadata"]["labels"]
                    if namespace != policy.inputs["metadata"]["namespace"]:
                        continue
                    if not selects(policy.inputs["spec"]["podSelector"], labels):
                        continue
                    [group] = groups_worn(run, namespace, labels)
                    assert admitted(run, STORE_GROUPS[port], port, group), (owner.name, port)
                    checked += 1
    assert checked >= 8


def admitted(run, store_groups: tuple[str, ...], port: int, group: str) -> bool:
    """Some store group among `store_groups` admits `group` on `port`."""
    return any(
        rule.inputs["referencedSecurityGroupId"] == group and rule.inputs["fromPort"] == port
        for rule in run.of_type(INGRESS)
        if any(f"sd-{run.stack}{suffix}-from-" in rule.name for suffix in store_groups)
    )


def test_no_store_admits_the_nodes(run):
    """The nodes' group (on every node, for the filestore's NFS) reaches no database, cache or
    search domain: only the filestore admits it."""
    nodes = f"sd-{run.stack}-data-clients-id"
    admitting = {
        rule.inputs["securityGroupId"]
        for rule in run.of_type(INGRESS)
        if rule.inputs.get("referencedSecurityGroupId") == nodes
    }
    assert admitting == {f"sd-{run.stack}-filestore-sg-id"}


def test_pod_groups_reach_the_vpc_and_the_nodes_answer_their_dns(run):
    pods = nonempty(
        [g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup") if f"sd-{run.stack}-pods-" in g.name]
    )
    vpc_cidr = run.named(f"sd-{run.stack}-vpc", "aws:ec2/vpc:Vpc").inputs["cidrBlock"]
    nodes = f"sd-{run.stack}-data-clients-id"
    for group in pods:
        group_id = f"{group.name}-id"
        own = [r for r in (*run.of_type(INGRESS), *run.of_type(EGRESS)) if r.inputs["securityGroupId"] == group_id]
        shapes = {(r.type, r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]) for r in own}
        assert shapes == {(INGRESS, "tcp", 0, 65535), (EGRESS, "tcp", 0, 65535), (EGRESS, "udp", 53, 53)}
        assert {r.inputs["cidrIpv4"] for r in own} == {vpc_cidr}
        # The load balancer controller finds the groups it added rules to by the cluster's tag.
        assert group.inputs["tags"][f"kubernetes.io/cluster/sd-{run.stack}"] == "owned"
        dns = {
            r.inputs["ipProtocol"]
            for r in run.of_type(INGRESS)
            if r.inputs["securityGroupId"] == nodes and r.inputs.get("referencedSecurityGroupId") == group_id
        }
        assert dns == {"udp", "tcp"}, group.name


def test_the_cni_the_cluster_role_and_karpenter_are_set_for_branch_enis(run):
    cni = run.named(f"sd-{run.stack}-vpc-cni", "aws:eks/addon:Addon").inputs
    env = json.loads(cni["configurationValues"])["env"]
    assert env == {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"}
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    cluster_role = run.named(f"sd-{run.stack}-cluster-policy", attachment).inputs["role"]
    controller = run.named(f"sd-{run.stack}-vpc-resource-controller", attachment).inputs
    assert controller == {"role": cluster_role, "policyArn": "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"}
    karpenter = next(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "karpenter")
    assert karpenter.inputs["values"]["settings"]["reservedENIs"] == "1"
