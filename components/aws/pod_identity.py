"""IAM roles for Kubernetes service accounts through EKS Pod Identity.

Pod Identity instead of IRSA: no OIDC provider to manage, and the trust policy names a service
principal rather than one cluster's issuer URL, so a role survives a cluster rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy


@dataclass(frozen=True)
class ControllerIdentity:
    role: aws.iam.Role
    #: Install the controller after this: its pods get credentials only once it exists.
    association: aws.eks.PodIdentityAssociation


def controller_identity(
    name: str, cluster_name: pulumi.Input[str], namespace: str, service_account: str, parent: pulumi.Resource
) -> ControllerIdentity:
    """An IAM role that one controller's service account assumes through EKS Pod Identity."""
    role = aws.iam.Role(
        f"{name}-controller", assume_role_policy=pod_identity_trust(), opts=pulumi.ResourceOptions(parent=parent)
    )
    association = aws.eks.PodIdentityAssociation(
        f"{name}-controller",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return ControllerIdentity(role, association)


def pod_identity_trust() -> pulumi.Output[str]:
    """Trust for EKS Pod Identity: the agent assumes the role on behalf of a service account."""
    return service_trust_policy("pods.eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession"))


@dataclass(frozen=True)
class WorkloadIdentity:
    #: The role (other services name it: OpenSearch's role mappings).
    role_arn: pulumi.Output[str]
    #: Pods get the role's credentials once these exist.
    associations: list[aws.eks.PodIdentityAssociation]


def workload_identity(
    name: str,
    cluster_name: pulumi.Input[str],
    namespace: pulumi.Input[str],
    service_accounts: Sequence[str],
    statements: list[dict],
    parent: pulumi.Resource,
) -> WorkloadIdentity:
    """One IAM role with exactly `statements`, for an application's service accounts. Pods get
    its credentials once their association exists (a CSI mount before that is retried)."""
    role = aws.iam.Role(
        f"{name}-identity", assume_role_policy=pod_identity_trust(), opts=pulumi.ResourceOptions(parent=parent)
    )
    aws.iam.RolePolicy(
        f"{name}-identity",
        role=role.id,
        policy=policy_document(statements),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    associations = [
        aws.eks.PodIdentityAssociation(
            f"{name}-{account}" if len(service_accounts) > 1 else f"{name}-identity",
            cluster_name=cluster_name,
            namespace=namespace,
            service_account=account,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for account in service_accounts
    ]
    return WorkloadIdentity(role.arn, associations)
