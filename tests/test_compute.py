"""EKS, add-ons, Karpenter and the Load Balancer Controller as registered per stack."""

from __future__ import annotations

import json
import re

import pytest

from components.compute.karpenter_manifests import KARPENTER_VERSION, NodePoolSpec, ec2_node_class, node_pool, problems
from tests.conftest import PROJECT, section, section_problems, stack_file_config
from tests.harness.checks import nonempty


def cluster(run):
    return run.one("aws:eks/cluster:Cluster")


def test_control_plane_logs_encryption_and_access(run):
    c = cluster(run).inputs
    assert c["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    key = run.named(f"sd-{run.stack}-secrets-key", "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert c["encryptionConfig"] == {"provider": {"keyArn": key.state["arn"]}, "resources": ["secrets"]}
    assert c["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert c["version"] == "1.35" and c["bootstrapSelfManagedAddons"] is False
    log_group = run.named(f"sd-{run.stack}-control-plane", "aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group["name"] == f"/aws/eks/{c['name']}/cluster"


def test_endpoint_private_and_public_only_to_listed_cidrs(run):
    vpc = cluster(run).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    cidrs = section(run.stack, "cluster")["publicAccessCidrs"]
    assert vpc["endpointPublicAccess"] is bool(cidrs)
    assert vpc.get("publicAccessCidrs", []) == cidrs
    assert "0.0.0.0/0" not in vpc.get("publicAccessCidrs", [])
    assert sorted(vpc["subnetIds"]) == sorted(f"sd-{run.stack}-private-eu-west-1{z}-id" for z in "abc")


def test_access_entries_are_the_environments_fixed_roles(run):
    """Cluster admin: the environment's deploy role, then the listed admins; read-only (Secrets
    included, for refresh): its preview role. Never "whoever runs Pulumi"."""
    associations = run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    cluster, delivery = section(run.stack, "cluster"), section(run.stack, "delivery")
    by_name = {a.name: (a.inputs["principalArn"], a.inputs["policyArn"].rsplit("/", 1)[1]) for a in associations}
    assert by_name.pop(f"sd-{run.stack}-deployer") == (delivery["deployRoleArn"], "AmazonEKSClusterAdminPolicy")
    assert by_name.pop(f"sd-{run.stack}-viewer-0") == (delivery["previewRoleArn"], "AmazonEKSAdminViewPolicy")
    assert sorted(by_name.values()) == sorted(
        (arn, "AmazonEKSClusterAdminPolicy") for arn in cluster["adminPrincipalArns"]
    )
    node_entries = [e for e in run.of_type("aws:eks/accessEntry:AccessEntry") if e.inputs.get("type") == "EC2_LINUX"]
    assert len(node_entries) == 1


def test_system_nodes_require_imdsv2_and_encrypted_gp3(run):
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    [device] = template["blockDeviceMappings"]
    assert device["ebs"]["encrypted"] == "true" and device["ebs"]["volumeType"] == "gp3"
    assert f"sd-{run.stack}-data-clients-id" in template["vpcSecurityGroupIds"]


def test_autoscaler_owns_desired_size(run):
    group = run.one("aws:eks/nodeGroup:NodeGroup")
    assert group.ignore_changes == ["scalingConfig.desiredSize"]
    nodes = section(run.stack, "cluster")["systemNodes"]
    assert group.inputs["scalingConfig"] == {
        "minSize": nodes["minSize"],
        "desiredSize": nodes["desiredSize"],
        "maxSize": nodes["maxSize"],
    }
    assert group.inputs["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group.inputs["labels"] == {"node-role.smartdairy.io/system": "true"}


def test_addons_pinned_and_ordered_around_the_node_group(run):
    addons = {a.inputs["addonName"]: a for a in run.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {
        "vpc-cni",
        "kube-proxy",
        "eks-pod-identity-agent",
        "coredns",
        "aws-ebs-csi-driver",
        "aws-efs-csi-driver",
        "metrics-server",
    }
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", a.inputs["addonVersion"]) for a in addons.values())
    group = run.one("aws:eks/nodeGroup:NodeGroup")
    for networking in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[networking].urn in group.dependencies
    for workload in ("coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver", "metrics-server"):
        assert group.urn in addons[workload].dependencies


def pod_identities(run) -> dict[str, str]:
    """service account -> role, from associations and add-on pod identity blocks."""
    found = {
        f"{a.inputs['namespace']}/{a.inputs['serviceAccount']}": a.inputs["roleArn"]
        for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    for addon in run.of_type("aws:eks/addon:Addon"):
        for association in addon.inputs.get("podIdentityAssociations", []):
            found[f"addon/{association['serviceAccount']}"] = association["roleArn"]
    return found


def test_every_controller_gets_aws_access_through_pod_identity(run):
    """Controllers, and the applications that read their database credential's secret."""
    identities = pod_identities(run)
    applications = (
        "db-bootstrap",
        "pgbouncer-rw",
        "pgbouncer-ro",
        "pgbouncer-session",
        "odoo",
        "odoo-longpolling",
        "odoo-api-key",
        "odoo-release",
    )
    assert set(identities) == {
        "kube-system/karpenter",
        "kube-system/aws-load-balancer-controller",
        "addon/ebs-csi-controller-sa",
        "addon/efs-csi-controller-sa",
        "addon/aws-node",
        "monitoring/grafana",
        "monitoring/alertmanager",
        *(f"smartdairy/{account}" for account in (*applications, "api-gateway")),
    }
    roles = {f"{r.name}-id": r for r in run.of_type("aws:iam/role:Role")}
    for role_arn in identities.values():
        role = next(r for r in roles.values() if r.state["arn"] == role_arn)
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]


def policy_documents(run):
    for resource in run.resources:
        for key in ("policy", "assumeRolePolicy"):
            value = resource.inputs.get(key)
            if isinstance(value, str) and value.startswith("{"):
                yield resource.name, json.loads(value)


def test_no_policy_document_grants_everything_on_everything(run):
    documents = list(policy_documents(run))
    assert len(documents) >= 14  # 8 trust policies, 6 permission and resource policies
    keys = {k.name for k in run.of_type("aws:kms/key:Key")}
    for name, document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow" or (name in keys and _account_owns_the_key(statement)):
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = statement.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            wildcard_action = any(a == "*" or a.endswith(":*") for a in actions)
            assert not (wildcard_action and "*" in resources), (name, statement)


def _account_owns_the_key(statement: dict) -> bool:
    """AWS's default key-policy statement: in a key policy `Resource: *` is the key itself, and
    the account root holding it is what lets IAM policies (not the key policy) decide."""
    return statement.get("Principal") == {"AWS": "arn:aws:iam::123456789012:root"}


def test_helm_releases_pin_chart_and_image_versions(run):
    releases = {r.inputs["name"]: r.inputs for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    assert set(releases) == {
        "karpenter-crd",
        "karpenter",
        "aws-load-balancer-controller",
        "kube-prometheus-stack",
        "prometheus-adapter",
        "secrets-store-csi-driver-provider-aws",
    }
    for release in releases.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", release["version"])
    assert releases["karpenter"]["version"] == releases["karpenter-crd"]["version"] == KARPENTER_VERSION
    # Helm never upgrades a chart's crds/: the CRDs come from their own chart instead.
    assert releases["karpenter"]["skipCrds"] is True
    assert releases["karpenter"]["values"]["controller"]["image"]["tag"] == KARPENTER_VERSION
    assert re.fullmatch(r"v\d+\.\d+\.\d+", releases["aws-load-balancer-controller"]["values"]["image"]["tag"])
    # values are inspectable offline: the settings Karpenter needs are right there
    settings = releases["karpenter"]["values"]["settings"]
    assert settings["clusterName"] == f"sd-{run.stack}" and settings["interruptionQueue"]


def test_kubernetes_resources_use_only_the_cluster_provider(run):
    config = stack_file_config(run.stack)
    assert json.loads(config["pulumi:disable-default-providers"]) == ["kubernetes"]
    [provider] = run.of_type("pulumi:providers:kubernetes")
    assert "kubeconfig" in provider.secret_paths
    kubernetes = [r for r in run.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(kubernetes) >= 5
    for resource in kubernetes:
        assert run.provider_of(resource).urn == provider.urn, resource.name


def test_controllers_run_on_the_system_nodes(run):
    controllers = ("karpenter", "aws-load-balancer-controller")
    for release in nonempty(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] in controllers):
        values = release.inputs["values"]
        assert values["nodeSelector"] == {"node-role.smartdairy.io/system": "true"}
        assert values["tolerations"][0]["key"] == "CriticalAddonsOnly"


def test_karpenter_interruption_handling(run):
    queue = run.one("aws:sqs/queue:Queue")
    rules = run.of_type("aws:cloudwatch/eventRule:EventRule")
    targets = run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    kinds = sorted(json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in rules)
    assert kinds == [
        "AWS Health Event",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    assert {t.inputs["arn"] for t in targets} == {queue.state["arn"]}
    assert queue.inputs["sqsManagedSseEnabled"] is True


def test_karpenter_custom_resources_match_the_pinned_schema(run):
    custom = [r for r in run.resources if r.type.startswith("kubernetes:karpenter")]
    assert {r.inputs["kind"] for r in custom} == {"EC2NodeClass", "NodePool"}
    for resource in custom:
        assert problems(resource.inputs) == [], resource.name
    node_class = next(r for r in custom if r.inputs["kind"] == "EC2NodeClass").inputs["spec"]
    assert node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    assert node_class["role"] == f"sd-{run.stack}-node"
    assert node_class["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": f"sd-{run.stack}"}}]


def test_discovery_tags_reach_subnets_and_security_groups(run):
    tag = {"karpenter.sh/discovery": f"sd-{run.stack}"}
    private = [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"]
    assert all(tag.items() <= s.inputs["tags"].items() for s in private)
    clients = run.named(f"sd-{run.stack}-data-clients", "aws:ec2/securityGroup:SecurityGroup")
    assert tag.items() <= clients.inputs["tags"].items()
    [cluster_sg_tag] = run.of_type("aws:ec2/tag:Tag")
    assert (cluster_sg_tag.inputs["key"], cluster_sg_tag.inputs["value"]) == next(iter(tag.items()))


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda m: m["spec"].update(amiSelectorTerm=[]), "spec.amiSelectorTerm: unknown field"),
        (lambda m: m["spec"]["metadataOptions"].update(httpTokens="optionall"), "httpTokens: 'optionall' is not one"),
    ],
)
def test_node_class_schema_catches_mistakes(mutate, expected):
    manifest = ec2_node_class("default", "role", "tag", 50, "al2023@latest")
    mutate(manifest)
    assert any(p.startswith(expected) or expected in p for p in problems(manifest))


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda m: m["spec"]["disruption"].update(consolidationPolicy="WhenUnderutilized"), "consolidationPolicy"),
        (lambda m: m["spec"]["template"]["spec"].update(expireAfter="30 days"), "expireAfter: '30 days'"),
        (lambda m: m["spec"].update(expireAfter="720h"), "spec.expireAfter: unknown field"),
        (lambda m: m["spec"]["disruption"]["budgets"][0].update(nodes="ten"), "budgets[].nodes"),
    ],
)
def test_node_pool_schema_catches_mistakes(mutate, expected):
    spec = NodePoolSpec.model_validate(
        {
            "name": "apps",
            "capacityTypes": ["on-demand"],
            "instanceCategories": ["m"],
            "cpuLimit": 10,
            "memoryLimitGi": 40,
        }
    )
    manifest = node_pool(spec, "default")
    assert problems(manifest) == []
    mutate(manifest)
    assert any(expected in p for p in problems(manifest))


def test_unsupported_kubernetes_version_is_refused():
    [problem] = section_problems("prod", "cluster", kubernetesVersion="1.29")
    assert problem == f"{PROJECT}:cluster.kubernetesVersion = '1.29': EKS supports 1.34, 1.35, 1.36 (standard support)"


def test_node_group_sizes_must_be_ordered():
    nodes = section("prod", "cluster")["systemNodes"] | {"desiredSize": 9}
    [problem] = section_problems("prod", "cluster", systemNodes=nodes)
    assert problem == f"{PROJECT}:cluster.systemNodes: needs minSize <= desiredSize <= maxSize, got 3 / 9 / 6"


def test_world_open_api_endpoint_is_refused():
    [problem] = section_problems("prod", "cluster", publicAccessCidrs=["0.0.0.0/0"])
    assert "opens the API endpoint to too much of the internet" in problem


def test_addon_versions_must_be_eks_builds():
    addons = section("prod", "cluster")["addons"] | {"coredns": "latest"}
    [problem] = section_problems("prod", "cluster", addons=addons)
    assert problem.startswith(f"{PROJECT}:cluster.addons.coredns = 'latest'")


def test_karpenter_chart_is_tied_to_the_schema_version():
    karpenter = section("prod", "cluster")["karpenter"] | {"chartVersion": "1.10.0"}
    [problem] = section_problems("prod", "cluster", karpenter=karpenter)
    assert problem.startswith(
        f"{PROJECT}:cluster.karpenter.chartVersion = '1.10.0': Input should be '{KARPENTER_VERSION}'"
    )
