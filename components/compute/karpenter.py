"""Karpenter: node autoscaling, so the pods the HPAs add find nodes within the seed's
"scale 2x in < 5 min".

HPAs add pods in seconds; a managed node group behind Cluster Autoscaler adds nodes in
minutes and only of its fixed instance types. Karpenter launches right-sized capacity for the
pending pods directly (node launch to Ready in about 60-90 s).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.iam_documents import policy_document
from components.aws.pod_identity import ControllerIdentity, controller_identity
from components.compute.controller_policies import karpenter_controller_policy
from components.compute.eks_cluster import SYSTEM_LABEL, SYSTEM_TAINT
from components.compute.karpenter_manifests import KARPENTER_VERSION, NodePoolSpec, ec2_node_class, node_pool
from components.k8s.helm import helm_release

NAMESPACE = "kube-system"
CHART_REPOSITORY = "oci://public.ecr.aws/karpenter"
SERVICE_ACCOUNT = "karpenter"
#: Interruption events Karpenter acts on before AWS takes the instance away.
INTERRUPTION_EVENTS = {
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
}


@dataclass(frozen=True)
class KarpenterArgs:
    #: The cluster Karpenter launches nodes for, and its API endpoint.
    cluster_name: pulumi.Input[str]
    #: Its API endpoint.
    cluster_endpoint: pulumi.Input[str]
    #: The node role (its instance profile is Karpenter's to manage) and its ARN for PassRole.
    node_role_name: pulumi.Input[str]
    #: The node role's ARN, for PassRole.
    node_role_arn: pulumi.Input[str]
    #: Value of `karpenter.sh/discovery` on the subnets and security groups nodes use.
    discovery_tag: str
    #: The NodePools, heaviest weight filled first.
    node_pools: Sequence[NodePoolSpec]
    #: Chart and controller version; must equal the schema version of karpenter_manifests.py.
    chart_version: str
    #: EC2NodeClass AMI alias: family@version (pinned) or family@latest.
    ami_alias: str
    #: Replicas of the controller Deployment; one leads.
    controller_replicas: int
    #: ENIs of each node that carry no pod IPs (1 when the VPC CNI attaches a trunk ENI for
    #: security groups for pods): left out of Karpenter's max-pods, or it over-packs nodes.
    reserved_enis: int
    #: Cost-allocation tags of the instances, volumes and ENIs Karpenter launches.
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    #: Root volume of the nodes Karpenter launches, GiB.
    node_volume_gb: int = 80


class Karpenter(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:autoscaling:Karpenter"

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        if args.chart_version != KARPENTER_VERSION:
            raise ValueError(
                f"{name}: the NodePool/EC2NodeClass schema in karpenter_resources.py is for Karpenter "
                f"{KARPENTER_VERSION}; update it together with chart_version ({args.chart_version})"
            )
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        queue = self._interruption_queue(name)
        identity = self._controller_identity(name, args, queue.arn)
        crds, release = self._releases(name, args, queue.name, identity.association)
        self._node_classes_and_pools(name, args, [crds, release])
        self.interruption_queue_name = queue.name
        self.controller_role_arn = identity.role.arn
        self.register_outputs(
            {
                "interruptionQueueName": self.interruption_queue_name,
                "controllerRoleArn": self.controller_role_arn,
            }
        )

    def _interruption_queue(self, name: str) -> aws.sqs.Queue:
        """Spot interruptions, rebalance recommendations and instance state changes, delivered
        by EventBridge to an encrypted queue only EventBridge and SQS may write to, over TLS."""
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        queue = aws.sqs.Queue(
            f"{name}-interruptions", message_retention_seconds=300, sqs_managed_sse_enabled=True, opts=child
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions",
            queue_url=queue.url,
            policy=policy_document(
                [
                    {
                        "Sid": "EventBridgeAndSqsDeliverOnly",
                        "Effect": "Allow",
                        "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                        "Action": "sqs:SendMessage",
                        "Resource": queue.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                    {
                        "Sid": "DenyHTTP",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": queue.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
            opts=child,
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{event}", event_pattern=json.dumps(pattern), opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{event}", rule=rule.name, arn=queue.arn, opts=child)

        return queue

    def _controller_identity(self, name: str, args: KarpenterArgs, queue_arn: pulumi.Input[str]) -> ControllerIdentity:
        """The controller's role through Pod Identity, with upstream's policy for this cluster."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        identity = controller_identity(name, args.cluster_name, NAMESPACE, SERVICE_ACCOUNT, self)
        aws.iam.RolePolicy(
            f"{name}-controller",
            role=identity.role.id,
            policy=pulumi.Output.all(
                args.cluster_name, partition, region, account, queue_arn, args.node_role_arn
            ).apply(lambda values: json.dumps(karpenter_controller_policy(*values))),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return identity

    def _releases(
        self, name: str, args: KarpenterArgs, queue_name: pulumi.Input[str], association: pulumi.Resource
    ) -> tuple[k8s.helm.v3.Release, k8s.helm.v3.Release]:
        # CRDs from their own chart: Helm installs a chart's crds/ once and never upgrades them,
        # so a chart bump would leave NodePool/EC2NodeClass schemas behind the controller.
        chart = f"{CHART_REPOSITORY}/karpenter"
        crds = helm_release(
            f"{name}-crd",
            "karpenter-crd",
            f"{chart}-crd",
            args.chart_version,
            NAMESPACE,
            pulumi.ResourceOptions(parent=self),
        )
        release = helm_release(
            name,
            "karpenter",
            chart,
            args.chart_version,
            NAMESPACE,
            pulumi.ResourceOptions(parent=self, depends_on=[association, crds]),
            skip_crds=True,
            values={
                "replicas": args.controller_replicas,
                "serviceAccount": {"name": SERVICE_ACCOUNT},
                "settings": {
                    "clusterName": args.cluster_name,
                    "clusterEndpoint": args.cluster_endpoint,
                    "interruptionQueue": queue_name,
                    "reservedENIs": str(args.reserved_enis),
                },
                "controller": {
                    "image": {"tag": args.chart_version},
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                },
                # Karpenter must never run on nodes it manages: pin it to the system node group.
                "nodeSelector": {SYSTEM_LABEL: "true"},
                "tolerations": [{"key": SYSTEM_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            },
        )
        return crds, release

    def _node_classes_and_pools(self, name: str, args: KarpenterArgs, releases: list[pulumi.Resource]) -> None:
        """The default EC2NodeClass and the NodePools, once the CRDs and the controller exist."""
        after_release = pulumi.ResourceOptions(parent=self, depends_on=releases)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-default-class",
            **_cr_args(
                ec2_node_class(
                    "default",
                    args.node_role_name,
                    args.discovery_tag,
                    args.node_volume_gb,
                    args.ami_alias,
                    args.resource_tags,
                )
            ),
            opts=after_release,
        )
        #: What a release that only runs on Karpenter's nodes waits for: the NodePools.
        self.node_pools = [
            k8s.apiextensions.CustomResource(
                f"{name}-pool-{spec.name}",
                **_cr_args(node_pool(spec, "default")),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[node_class]),
            )
            for spec in args.node_pools
        ]


def _cr_args(manifest: dict) -> dict:
    return {
        "api_version": manifest["apiVersion"],
        "kind": manifest["kind"],
        "metadata": manifest["metadata"],
        "spec": manifest["spec"],
    }
