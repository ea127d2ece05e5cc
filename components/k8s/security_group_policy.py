"""The SecurityGroupPolicy that puts pods on a branch ENI wearing one security group.

EKS ships the CRD (vpcresources.k8s.aws/v1beta1) with its VPC resource controller; its webhook
gives a pod the `vpc.amazonaws.com/pod-eni` resource when the pod is created, never later. So a
workload's pods must be created after its policy: callers make the pod's owner depend on the
returned resource, which also removes the pods before the policy and the group at `destroy`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

#: Pod-template annotation carrying the group a workload's pods wear: when the group changes (or
#: a running workload first gets one), the pods roll and the new ones are created wearing it.
GROUP_ANNOTATION = "smartdairy.io/security-group"


def security_group_policy(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    pod_labels: Mapping[str, str],
    group_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """Pods matching `pod_labels` in the policy's namespace (`metadata`) wear the group
    `group_id`, and only it: the load balancer controller opens the ALB's port on a pod ENI's
    single group."""
    return k8s.apiextensions.CustomResource(
        f"{name}-security-group",
        api_version="vpcresources.k8s.aws/v1beta1",
        kind="SecurityGroupPolicy",
        metadata=metadata,
        spec={"podSelector": {"matchLabels": dict(pod_labels)}, "securityGroups": {"groupIds": [group_id]}},
        opts=pulumi.ResourceOptions(parent=parent),
    )
