"""Compute composition: EKS, the Kubernetes provider built from it, node autoscaling and the
load balancer controller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.compute.eks_cluster import Addon, EksCluster, EksClusterArgs
from components.compute.karpenter import Karpenter, KarpenterArgs
from components.compute.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.compute.secrets_store import SecretsStoreDriver, SecretsStoreDriverArgs
from components.compute.storage_class import BlockStorageClass, BlockStorageClassArgs
from components.network.runner_peering import RunnerPeering, RunnerPeeringArgs
from components.network.vpc import Network

from .context import DISCOVERY_TAG, StackContext
from .schema import PlatformConfig


@dataclass(frozen=True)
class ComputeTier:
    cluster: EksCluster
    kubernetes: k8s.Provider
    #: StorageClass name for block volumes (EKS has no default class).
    block_storage_class: pulumi.Output[str]
    #: The ALB IngressClass, and what an Ingress of it depends on (LoadBalancerController.ready).
    ingress_class: str
    ingress_controller: list[pulumi.Resource]
    #: What a SecretProviderClass depends on (SecretsStoreDriver.ready).
    secrets_store: list[pulumi.Resource]
    #: Karpenter's NodePools: what a release of pods that only run on them waits for.
    node_pools: list[pulumi.Resource]


def compute(ctx: StackContext, network: Network) -> ComputeTier:
    """EKS, then a Kubernetes provider built from its outputs, then what runs on it."""
    config, prefix = ctx.config, ctx.prefix
    spec = config.cluster
    path = runner_path(ctx, network)
    cluster = EksCluster(
        prefix,
        ctx.args(
            spec,
            EksClusterArgs,
            cluster_name=prefix,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            node_security_group_ids=[network.data_client_security_group_id],
            addons=addons(spec, ctx.resource_tags),
            deployer_principal_arn=config.delivery.deploy_role_arn,
            viewer_principal_arns=[config.delivery.preview_role_arn],
            private_access_cidrs=[*spec.private_access_cidrs, *runner_ranges(config)],
            cluster_security_group_tags=ctx.discovery,
        ),
        opts=ctx.on_aws(),
    )
    # The only Kubernetes provider: default providers for kubernetes are disabled in the stack
    # files, so nothing can fall back to a local kube context. It waits for the deployer's access
    # entry, the system nodes and the add-ons (see EksCluster.ready), and so does everything on it.
    kubernetes = k8s.Provider(
        "eks",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=[*cluster.ready, *path]),
    )
    on_cluster = pulumi.ResourceOptions(providers=[ctx.regional, kubernetes])

    karpenter = Karpenter(
        f"{prefix}-karpenter",
        ctx.args(
            spec.karpenter,
            KarpenterArgs,
            cluster_name=cluster.name,
            cluster_endpoint=cluster.endpoint,
            node_role_name=cluster.node_role_name,
            node_role_arn=cluster.node_role_arn,
            discovery_tag=ctx.discovery[DISCOVERY_TAG],
            reserved_enis=TRUNK_ENIS,
        ),
        opts=on_cluster,
    )
    storage = BlockStorageClass(f"{prefix}-gp3", BlockStorageClassArgs(class_name="gp3-encrypted"), opts=on_cluster)
    controller = LoadBalancerController(
        f"{prefix}-alb-controller",
        ctx.args(
            spec.load_balancer_controller, LoadBalancerControllerArgs, cluster_name=cluster.name, vpc_id=network.vpc_id
        ),
        opts=on_cluster,
    )
    secrets_store = SecretsStoreDriver(
        f"{prefix}-secrets-store", ctx.args(spec.secrets_store, SecretsStoreDriverArgs), opts=on_cluster
    )
    return ComputeTier(
        cluster,
        kubernetes,
        storage.class_name,
        controller.ingress_class,
        controller.ready,
        secrets_store.ready,
        karpenter.node_pools,
    )


def runner_path(ctx: StackContext, network: Network) -> list[pulumi.Resource]:
    """The peering with the environment's delivery runner, and what the Kubernetes provider must
    wait for so the first `up` from that runner reaches the API."""
    runner = ctx.config.delivery.runner
    if runner is None:
        return []
    peering = RunnerPeering(
        f"{ctx.prefix}-runner",
        RunnerPeeringArgs(
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            route_table_ids=network.private_route_table_ids,
            runner=runner,
        ),
        opts=ctx.on_aws(),
    )
    return peering.ready


def runner_ranges(config: PlatformConfig) -> list[str]:
    """The delivery runner's range, when the stack has one: admitted to the private API on 443."""
    return [config.delivery.runner.cidr] if config.delivery.runner else []


#: The VPC CNI's settings for pods that wear their own security group (security groups for
#: pods). Standard mode: the agent still enforces NetworkPolicies on those pods, and kubelet
#: probes stay on the node.
POD_ENI_ENV = {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"}
#: The trunk ENI those pods' branch ENIs hang off: one ENI of each node carries no pod IPs.
TRUNK_ENIS = 1

#: `cluster.addons` field -> EKS add-on name (the preflight checks the same pairs).
ADDON_NAMES = {
    "vpc_cni": "vpc-cni",
    "coredns": "coredns",
    "kube_proxy": "kube-proxy",
    "pod_identity_agent": "eks-pod-identity-agent",
    "ebs_csi_driver": "aws-ebs-csi-driver",
    "efs_csi_driver": "aws-efs-csi-driver",
    "metrics_server": "metrics-server",
}


def addons(spec, resource_tags: Mapping[str, str]) -> list[Addon]:
    """The add-ons; the EBS CSI driver tags the volumes it creates for cost allocation."""
    versions = spec.addons
    system_toleration = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    return [
        Addon(
            ADDON_NAMES["vpc_cni"],
            versions.vpc_cni,
            service_account="aws-node",
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
            # The VPC CNI's agent enforces the applications' NetworkPolicies, and pods that a
            # SecurityGroupPolicy selects get a branch ENI with their own group (the data
            # stores admit those groups, not the nodes).
            configuration={"enableNetworkPolicy": "true", "env": POD_ENI_ENV},
            before_nodes=True,
        ),
        Addon(ADDON_NAMES["kube_proxy"], versions.kube_proxy, before_nodes=True),
        Addon(ADDON_NAMES["pod_identity_agent"], versions.pod_identity_agent, before_nodes=True),
        Addon(
            ADDON_NAMES["coredns"],
            versions.coredns,
            configuration={"replicaCount": 2, "tolerations": system_toleration},
        ),
        *(
            # The CSI drivers' controllers run on the system nodes with their AWS managed policy.
            Addon(
                ADDON_NAMES[f"{storage}_csi_driver"],
                version,
                service_account=f"{storage}-csi-controller-sa",
                managed_policy_arns=[f"arn:aws:iam::aws:policy/service-role/Amazon{storage.upper()}CSIDriverPolicy"],
                configuration={"controller": {"tolerations": system_toleration, **volume_tags}},
            )
            for storage, version, volume_tags in (
                ("ebs", versions.ebs_csi_driver, {"extraVolumeTags": dict(resource_tags)}),
                ("efs", versions.efs_csi_driver, {}),
            )
        ),
        Addon(
            ADDON_NAMES["metrics_server"],
            versions.metrics_server,
            configuration={"replicas": 2, "tolerations": system_toleration},
        ),
    ]
