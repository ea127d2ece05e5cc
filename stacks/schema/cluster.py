"""Config of EKS, its add-ons, Karpenter and the AWS Load Balancer Controller."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.compute.karpenter_manifests import KARPENTER_VERSION, NodePoolSpec
from components.compute.node_groups import NodeGroupSizing
from components.settings import AuditLogRetentionDays, Section

#: Kubernetes versions in EKS standard support on 2026-11 (each gets ~14 months of it).
SUPPORTED_KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")
ADDON_VERSION = r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$"
IAM_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]+")


class AddonVersions(Section):
    """EKS add-on versions, pinned (see `aws eks describe-addon-versions`)."""

    vpc_cni: str = Field(
        pattern=ADDON_VERSION, description="Amazon VPC CNI build (pod networking, network policy agent)."
    )
    coredns: str = Field(pattern=ADDON_VERSION, description="CoreDNS build.")
    kube_proxy: str = Field(
        pattern=ADDON_VERSION, description="kube-proxy build; its minor follows the Kubernetes version."
    )
    pod_identity_agent: str = Field(
        pattern=ADDON_VERSION, description="EKS Pod Identity agent build (controller and add-on credentials)."
    )
    ebs_csi_driver: str = Field(pattern=ADDON_VERSION, description="EBS CSI driver build (Prometheus's gp3 volume).")
    efs_csi_driver: str = Field(pattern=ADDON_VERSION, description="Mounts the Odoo filestore (EFS, ReadWriteMany).")
    metrics_server: str = Field(
        pattern=ADDON_VERSION, description="The CPU and memory HPAs need it; EKS does not ship it."
    )


class KarpenterConfig(Section):
    chart_version: Literal[KARPENTER_VERSION] = Field(  # type: ignore[valid-type]
        KARPENTER_VERSION, description="Chart and controller version; tied to the CRD schema in karpenter_manifests.py."
    )
    ami_alias: str = Field(
        "al2023@latest",
        pattern=r"^(al2023|bottlerocket)@(latest|v[0-9.]+)$",
        description="EC2NodeClass AMI alias: family@vYYYYMMDD (pinned) or family@latest.",
    )
    controller_replicas: int = Field(2, ge=1, le=3, description="Controller pods (leader-elected).")
    node_pools: list[NodePoolSpec] = Field(min_length=1, description="NodePools, heaviest weight filled first.")

    @model_validator(mode="after")
    def _unique_pools(self) -> KarpenterConfig:
        names = [p.name for p in self.node_pools]
        if len(names) != len(set(names)):
            raise ValueError(f"nodePools names must be unique, got {names}")
        if not any(p.serves == "all" for p in self.node_pools):
            raise ValueError(
                "nodePools: at least one pool must have serves: all (PgBouncer, Odoo's bus and "
                "Prometheus run only there)"
            )
        return self


class LoadBalancerControllerConfig(Section):
    chart_version: str = Field(
        "1.14.0",
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="eks-charts aws-load-balancer-controller chart version.",
    )
    image_tag: str = Field(
        "v2.14.0",
        pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$",
        description="Controller image; its IAM policy is vendored for this version.",
    )


class SecretsStoreConfig(Section):
    chart_version: str = Field(
        "3.1.1",
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="secrets-store-csi-driver-provider-aws chart version (pins the driver subchart, 1.6.0 for 3.1.1).",
    )


class ClusterConfig(Section):
    """EKS control plane, system nodes, add-ons and node autoscaling."""

    kubernetes_version: str = Field(description="One of " + ", ".join(SUPPORTED_KUBERNETES_VERSIONS) + ".")
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="Egress ranges (a VPN) allowed to a public API endpoint. Empty: private endpoint only, "
        "reached by the delivery runner through its peering. Never 0.0.0.0/0.",
    )
    private_access_cidrs: list[str] = Field(
        default_factory=list,
        description="More in-VPC or peered ranges (a VPN) let through to the private endpoint on 443; "
        "the delivery runner's range (delivery.runner.cidr) is added by itself.",
    )
    admin_principal_arns: list[str] = Field(
        default_factory=list, description="More IAM roles or users with cluster admin (break-glass, operators)."
    )
    log_retention_days: AuditLogRetentionDays = Field(
        90, description="Days the control-plane logs stay in CloudWatch Logs."
    )
    system_nodes: NodeGroupSizing = Field(description="The managed node group for cluster-critical pods.")
    addons: AddonVersions = Field(description="Pinned EKS add-on builds.")
    karpenter: KarpenterConfig = Field(description="Node autoscaling for the applications.")
    load_balancer_controller: LoadBalancerControllerConfig = Field(
        LoadBalancerControllerConfig(), description="The controller that turns the Ingress into an ALB."
    )
    secrets_store: SecretsStoreConfig = Field(
        SecretsStoreConfig(), description="The CSI driver that mounts Secrets Manager secrets in pods."
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(f"EKS supports {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (standard support)")
        return value

    @field_validator("public_access_cidrs", "private_access_cidrs")
    @classmethod
    def _not_the_world(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR ({exc})") from None
            if network.prefixlen < 8:
                raise ValueError(f"{cidr} opens the API endpoint to too much of the internet; list admin ranges")
        return value

    @field_validator("admin_principal_arns")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not IAM_PRINCIPAL.fullmatch(a)]
        if bad:
            raise ValueError(f"not IAM role or user ARNs: {', '.join(bad)}")
        return value
