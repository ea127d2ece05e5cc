"""`destroy` offline: the engine deletes a resource before everything it waits for (the reverse
of the dependency graph: depends_on, the resources its inputs came from, its provider). So each
thing a controller cleans up behind must wait for that controller, and for the AWS resources
the cleanup frees; then the controllers are still running when their objects go, and go last.

Each test names what would be left behind, or what would fail, if the edge were missing."""

from __future__ import annotations

from tests.harness.checks import nonempty
from tests.test_deploy_readiness import releases, waits_for

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"


def test_the_alb_goes_while_its_controller_runs_and_before_the_network(run):
    """The load balancer controller deletes the ALB, its target groups and its security groups
    when the Ingress goes (its finalizer); without the controller the Ingress never goes, and
    with the VPC gone first the ALB's ENIs block the subnets."""
    ingress = run.one(INGRESS)
    assert waits_for(run, ingress, releases(run)["aws-load-balancer-controller"])
    assert waits_for(run, ingress, run.named(f"sd-{run.stack}-vpc", "aws:ec2/vpc:Vpc"))


def test_nodepools_go_while_karpenter_runs_and_before_its_role_and_queue(run):
    """Karpenter terminates its nodes when their NodePool and NodeClass go; if the controller,
    its node role or its interruption queue went first, the instances would outlive the stack
    and keep the subnets and security groups in use."""
    karpenter = releases(run)["karpenter"]
    for kind in ("NodePool", "EC2NodeClass"):
        for resource in nonempty(r for r in run.resources if r.type.endswith(f":{kind}")):
            assert waits_for(run, resource, karpenter), resource.name
            assert waits_for(run, resource, run.named(f"sd-{run.stack}-vpc", "aws:ec2/vpc:Vpc")), resource.name


def test_the_filestore_claim_goes_before_the_file_system(run):
    """The EFS driver deletes the claim's access point; the file system goes after it."""
    [claim] = run.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert waits_for(run, claim, run.one("aws:efs/fileSystem:FileSystem"))


def test_pods_that_wear_a_group_go_before_its_policy_and_the_group(run):
    """Branch ENIs are released when their pods go; a group still on an ENI cannot be deleted."""
    groups = {g.name + "-id": g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    for policy in nonempty(run.of_type(SGP)):
        [group_id] = policy.inputs["spec"]["securityGroups"]["groupIds"]
        assert waits_for(run, policy, groups[group_id]), policy.name
        owners = [r for r in run.resources if policy.urn in r.dependencies]
        assert owners, f"nothing waits for {policy.name}"


def test_secret_classes_go_while_the_csi_driver_runs(run):
    """The driver unmounts the secret files when the pods go; the classes go before it."""
    driver = next(r for name, r in releases(run).items() if name.startswith("secrets-store-csi-driver"))
    classes = run.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    assert all(waits_for(run, c, driver) for c in nonempty(classes))


def test_everything_on_the_cluster_goes_before_the_cluster(run):
    """The Kubernetes half is deleted through the cluster's API, so before the cluster (and the
    runner's peering that reaches it)."""
    cluster = run.one("aws:eks/cluster:Cluster")
    on_cluster = [r for r in run.resources if r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:")]
    assert all(waits_for(run, r, cluster) for r in nonempty(on_cluster))
