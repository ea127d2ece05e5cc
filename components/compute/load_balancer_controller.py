"""AWS Load Balancer Controller: turns the workloads' Ingress into an ALB (target type ip)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.pod_identity import controller_identity
from components.compute.controller_policies import load_balancer_controller_policy
from components.compute.eks_cluster import SYSTEM_LABEL, SYSTEM_TAINT
from components.k8s.helm import helm_release

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    #: The cluster, and its VPC and region (given: IMDS is closed to pods).
    cluster_name: pulumi.Input[str]
    #: Its VPC (given: IMDS is closed to pods).
    vpc_id: pulumi.Input[str]
    #: Its region (given: IMDS is closed to pods).
    region: str
    #: Chart and controller image; the IAM policy in vendor/ must be of the same version.
    chart_version: str
    #: The controller image's tag, of the chart's version.
    image_tag: str
    #: Cost-allocation tags of the load balancers and target groups it creates (`defaultTags`).
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    #: Controller pods (leader-elected; two keep the webhook available).
    replicas: int = 2


class LoadBalancerController(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:ingress_controller:LoadBalancerController"

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = controller_identity(name, args.cluster_name, NAMESPACE, SERVICE_ACCOUNT, self)
        policy = aws.iam.Policy(
            f"{name}-controller",
            description="AWS Load Balancer Controller: upstream docs/install/iam_policy.json of the pinned version",
            policy=json.dumps(load_balancer_controller_policy()),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-controller", role=identity.role.name, policy_arn=policy.arn, opts=child)
        release = helm_release(
            name,
            "aws-load-balancer-controller",
            "aws-load-balancer-controller",
            args.chart_version,
            NAMESPACE,
            pulumi.ResourceOptions(parent=self, depends_on=[identity.association]),
            repository="https://aws.github.io/eks-charts",
            values={
                "clusterName": args.cluster_name,
                # IMDS is closed to pods (hop limit 1), so region and VPC are given, not discovered.
                "region": args.region,
                "vpcId": args.vpc_id,
                "replicaCount": args.replicas,
                "image": {"tag": args.image_tag},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                # The IngressClass is ours (below), so it shows in `make synth` and is validated.
                "createIngressClassResource": False,
                "ingressClass": INGRESS_CLASS,
                # Traffic enters only through the Ingress; no Service of type LoadBalancer.
                "enableServiceMutatorWebhook": False,
                "nodeSelector": {SYSTEM_LABEL: "true"},
                "tolerations": [{"key": SYSTEM_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"},
                },
                "podDisruptionBudget": {"maxUnavailable": 1},
                "defaultTags": dict(args.resource_tags),
            },
        )
        ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=INGRESS_CLASS),
            spec=k8s.networking.v1.IngressClassSpecArgs(controller="ingress.k8s.aws/alb"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        self.ingress_class = INGRESS_CLASS
        #: What an Ingress of this class depends on: the controller's validating webhook refuses
        #: Ingresses until it runs, and on `destroy` it must outlive them to delete their ALBs.
        self.ready: list[pulumi.Resource] = [release, ingress_class]
        self.role_arn = identity.role.arn
        self.register_outputs({"ingressClass": self.ingress_class, "roleArn": self.role_arn})
