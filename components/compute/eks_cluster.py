"""EKS control plane and the system managed node group.

The system node group runs only cluster-critical pods (Karpenter, CoreDNS, controllers): a taint
keeps applications off it, so Karpenter can never evict the controller that launches its own
nodes. Application capacity comes from Karpenter (components/autoscaling.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import service_trust_policy
from components.aws.kms import KeyAccess, component_key
from components.aws.pod_identity import pod_identity_trust
from components.aws.security_group import tcp_rule
from components.compute.node_groups import NodeGroupSizing
from components.outputs import secret_output

#: Every control-plane log type EKS offers; audit is what an incident review needs.
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
#: Get, list and watch of everything, Secrets included: what `pulumi refresh` of the Kubernetes
#: half reads (AmazonEKSViewPolicy leaves Secrets out, so the refresh of one would fail).
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
SYSTEM_LABEL = "node-role.smartdairy.io/system"
SYSTEM_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
#: The schema's camelCase path. The Python SDK translates only top-level names in
#: ignore_changes, so "scaling_config.desired_size" would silently ignore nothing.
IGNORE_DESIRED_SIZE = "scalingConfig.desiredSize"
#: EKS-optimized AMI family of the system node group.
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"


@dataclass(frozen=True)
class Addon:
    name: str
    version: str
    #: Service account that gets an AWS role through Pod Identity, with these managed policies.
    service_account: str | None = None
    managed_policy_arns: Sequence[str] = ()
    configuration: Mapping[str, object] | None = None
    #: DaemonSets nodes need to become Ready (vpc-cni, kube-proxy, pod identity agent) go in
    #: before the node group; Deployments (coredns, ...) after, or they wait for nodes forever.
    before_nodes: bool = False


@dataclass(frozen=True)
class EksClusterArgs:
    #: The EKS cluster's name (also Karpenter's discovery tag value).
    cluster_name: str
    #: Kubernetes minor, e.g. "1.35".
    kubernetes_version: str
    #: The network's VPC and the private subnets nodes and pods live in.
    vpc_id: pulumi.Input[str]
    #: The private subnets nodes and pods live in.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: Extra security groups for the nodes (the network's data-clients group).
    node_security_group_ids: Sequence[pulumi.Input[str]]
    #: Sizing of the system node group (tainted CriticalAddonsOnly).
    system_nodes: NodeGroupSizing
    #: EKS add-ons, in install order.
    addons: Sequence[Addon]
    #: Empty: API endpoint private only. Otherwise public too, limited to these CIDRs.
    public_access_cidrs: Sequence[str]
    #: In-VPC or peered ranges (a self-hosted runner) let through to the private endpoint on 443.
    private_access_cidrs: Sequence[str]
    #: The principal that runs `pulumi up`: cluster admin, so the Kubernetes provider can deploy.
    #: A fixed role, never "whoever runs Pulumi": every caller then plans the same access.
    deployer_principal_arn: str
    #: More principals with cluster admin.
    admin_principal_arns: Sequence[str]
    #: Principals that only read the cluster (the preview role: refresh and preview).
    viewer_principal_arns: Sequence[str]
    #: Retention of the control-plane log group created before the cluster.
    log_retention_days: int
    #: Pulumi `protect` on the cluster, its key and its control-plane log group (the audit trail).
    protect: bool
    #: Who administers the key (the deploy role), in which account.
    key_access: KeyAccess
    #: Tags for the EKS-created cluster security group (Karpenter's discovery tag).
    cluster_security_group_tags: Mapping[str, str] = field(default_factory=dict)
    #: Cost-allocation tags of the system nodes' instances and volumes (the launch template's).
    resource_tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:cluster:EksCluster"

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        cluster = self._control_plane(name, args)
        access = [*self._access_entries(name, cluster, args), *self._api_ingress(name, cluster, args)]
        self._tag_cluster_security_group(name, cluster, args)
        node_role = self._node_role(f"{name}-node")
        networking = self._addons(name, cluster, [a for a in args.addons if a.before_nodes], [])
        node_group = self._system_node_group(name, cluster, node_role, args, networking)
        on_nodes = self._addons(name, cluster, [a for a in args.addons if not a.before_nodes], [node_group])

        self.name = cluster.name
        self.endpoint = cluster.endpoint
        self.certificate_authority = cluster.certificate_authority.data
        self.oidc_issuer = cluster.identities[0].oidcs[0].issuer
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        #: What anything deployed *onto* the cluster waits for: the deployer's access (entry and
        #: policy association, else the first requests are refused), its network path, the
        #: system nodes and every add-on (CoreDNS for in-cluster names, the CSI drivers for
        #: volumes). Kept until those deployments are gone, so `destroy` removes Ingresses and
        #: NodePools while the controllers that clean up behind them still run.
        self.ready: list[pulumi.Resource] = [*access, node_group, *networking, *on_nodes]
        self.kubeconfig: pulumi.Output[str] = secret_output(
            pulumi.Output.all(cluster.name, cluster.endpoint, self.certificate_authority).apply(
                lambda parts: json.dumps(kubeconfig(*parts))
            )
        )
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "certificateAuthority": self.certificate_authority,
                "oidcIssuer": self.oidc_issuer,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeRoleArn": self.node_role_arn,
                "nodeRoleName": self.node_role_name,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _control_plane(self, name: str, args: EksClusterArgs) -> aws.eks.Cluster:
        """The cluster: secrets encrypted with our key, every control-plane log kept as
        configured, access entries only (no creator admin), add-ons managed as EKS add-ons."""
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = f"/aws/eks/{args.cluster_name}/cluster"
        key = component_key(
            f"{name}-secrets-key",
            "EKS envelope encryption of Kubernetes secrets, and the control-plane logs",
            self,
            args.protect,
            args.key_access,
            log_groups=[log_group_name],
        )
        role = aws.iam.Role(f"{name}-cluster", assume_role_policy=_eks_trust(), opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        # The VPC resource controller attaches trunk ENIs to nodes and branch ENIs to the pods a
        # SecurityGroupPolicy selects, as the cluster role (EKS's "security groups for pods").
        aws.iam.RolePolicyAttachment(
            f"{name}-vpc-resource-controller",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSVPCResourceController",
            opts=child,
        )
        # EKS writes to this exact name; creating it first sets the retention (else: forever).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=key.arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        cluster = aws.eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=bool(args.public_access_cidrs),
                public_access_cidrs=list(args.public_access_cidrs) or None,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            # Add-ons are managed below as EKS add-ons, not as unmanaged bootstrap manifests.
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[log_group]),
        )
        return cluster

    def _api_ingress(self, name: str, cluster: aws.eks.Cluster, args: EksClusterArgs) -> list[pulumi.Resource]:
        """The private endpoint on 443 from the deployer's ranges (the runner's, a VPN)."""
        return [
            tcp_rule(
                f"{name}-api-from-{cidr.replace('/', '-')}",
                cluster.vpc_config.cluster_security_group_id,
                (443, 443),
                "Kubernetes API from the deployer's network (privateAccessCidrs)",
                self,
                cidr_ipv4=cidr,
            )
            for cidr in args.private_access_cidrs
        ]

    def _tag_cluster_security_group(self, name: str, cluster: aws.eks.Cluster, args: EksClusterArgs) -> None:
        """EKS creates the cluster security group; Karpenter finds it by these tags."""
        for key, value in args.cluster_security_group_tags.items():
            aws.ec2.Tag(
                f"{name}-cluster-sg-{key.replace('/', '-').replace('.', '-')}",
                resource_id=cluster.vpc_config.cluster_security_group_id,
                key=key,
                value=value,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _access_entries(self, name: str, cluster: aws.eks.Cluster, args: EksClusterArgs) -> list[pulumi.Resource]:
        """Access entries: cluster admin for the deployer, then the listed humans and roles;
        read-only for the viewers."""
        entries = {f"{name}-deployer": (args.deployer_principal_arn, CLUSTER_ADMIN_POLICY)}
        others = [arn for arn in args.admin_principal_arns if arn != args.deployer_principal_arn]
        entries |= {f"{name}-admin-{index}": (arn, CLUSTER_ADMIN_POLICY) for index, arn in enumerate(others)}
        entries |= {
            f"{name}-viewer-{i}": (arn, CLUSTER_VIEW_POLICY) for i, arn in enumerate(args.viewer_principal_arns)
        }
        created: list[pulumi.Resource] = []
        for entry_name, (principal, policy) in entries.items():
            entry = aws.eks.AccessEntry(
                entry_name,
                cluster_name=cluster.name,
                principal_arn=principal,
                type="STANDARD",
                opts=pulumi.ResourceOptions(parent=self),
            )
            association = aws.eks.AccessPolicyAssociation(
                entry_name,
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=policy,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            created += [entry, association]
        return created

    def _node_role(self, name: str) -> aws.iam.Role:
        role = aws.iam.Role(
            name, assume_role_policy=service_trust_policy("ec2.amazonaws.com"), opts=pulumi.ResourceOptions(parent=self)
        )
        for policy in (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryPullOnly",  # Karpenter's reference node role: pull, no listing
            "AmazonSSMManagedInstanceCore",
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=pulumi.ResourceOptions(parent=self),
            )
        return role

    def _system_node_group(
        self,
        name: str,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        args: EksClusterArgs,
        networking: Sequence[aws.eks.Addon],
    ) -> aws.eks.NodeGroup:
        sizing = args.system_nodes
        template = aws.ec2.LaunchTemplate(
            f"{name}-system",
            description="EKS system nodes: IMDSv2 only, encrypted gp3 root",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Pods use Pod Identity, not the node's role: one hop keeps IMDS off the pod network.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=sizing.disk_gb, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            vpc_security_group_ids=[cluster.vpc_config.cluster_security_group_id, *args.node_security_group_ids],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(args.resource_tags))
                for kind in ("instance", "volume")
            ]
            if args.resource_tags
            else None,
            update_default_version=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        access = aws.eks.AccessEntry(
            f"{name}-node",
            cluster_name=cluster.name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=list(sizing.instance_types),
            ami_type=SYSTEM_AMI_TYPE,
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=sizing.min_size, desired_size=sizing.desired_size, max_size=sizing.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={SYSTEM_LABEL: "true"},
            taints=[aws.eks.NodeGroupTaintArgs(**SYSTEM_TAINT)],
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=[IGNORE_DESIRED_SIZE], depends_on=[access, *networking]
            ),
        )

    def _addons(
        self, name: str, cluster: aws.eks.Cluster, addons: Sequence[Addon], after: Sequence[pulumi.Resource]
    ) -> list[aws.eks.Addon]:
        created = []
        for addon in addons:
            associations = None
            if addon.service_account:
                role = aws.iam.Role(
                    f"{name}-{addon.name}",
                    assume_role_policy=pod_identity_trust(),
                    opts=pulumi.ResourceOptions(parent=self),
                )
                for policy_arn in addon.managed_policy_arns:
                    aws.iam.RolePolicyAttachment(
                        f"{name}-{addon.name}-{policy_arn.rsplit('/', 1)[1]}",
                        role=role.name,
                        policy_arn=policy_arn,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                associations = [
                    aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=addon.service_account)
                ]
            created.append(
                aws.eks.Addon(
                    f"{name}-{addon.name}",
                    cluster_name=cluster.name,
                    addon_name=addon.name,
                    addon_version=addon.version,
                    configuration_values=json.dumps(addon.configuration) if addon.configuration else None,
                    pod_identity_associations=associations,
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="PRESERVE",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
                )
            )
        return created


def _eks_trust() -> pulumi.Output[str]:
    return service_trust_policy("eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession"))


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str | None = None) -> dict:
    """A kubeconfig whose credentials come from `aws eks get-token` at use time (no static token)."""
    command_args = ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": command_args + (["--region", region] if region else []),
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
