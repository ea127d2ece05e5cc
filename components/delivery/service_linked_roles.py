"""The account's service-linked roles that the platform needs and that nothing makes on first use.

AWS services create most of their service-linked roles themselves, on the first call that needs
one (RDS, ElastiCache, EKS, Elastic Load Balancing do so when the deploy role creates their first
resource). Two are different:
- EC2 Spot (`AWSServiceRoleForEC2Spot`): Karpenter launches spot capacity, and its upstream policy
  may not create the role, so a spot NodePool never launches on a fresh account.
- OpenSearch (`AWSServiceRoleForAmazonOpenSearchService`): a VPC domain needs it before
  CreateDomain.

A role belongs to the account, not to an environment: a stack that made one would delete it at
its `destroy` while the other environment still uses it. So the bootstrap makes them, keeps them
when it is destroyed, the environments' permissions boundary forbids stacks to create these two
or delete any, and `make preflight` checks they exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

#: AWS service principal -> the name AWS gives its service-linked role.
PLATFORM_SERVICE_ROLES = {
    "spot.amazonaws.com": "AWSServiceRoleForEC2Spot",
    "opensearchservice.amazonaws.com": "AWSServiceRoleForAmazonOpenSearchService",
}


@dataclass(frozen=True)
class ServiceLinkedRolesArgs:
    #: The services whose role to create (those of PLATFORM_SERVICE_ROLES the account lacks).
    services: Sequence[str]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.services) - set(PLATFORM_SERVICE_ROLES))
        if unknown:
            raise ValueError(f"service-linked roles: unknown services {unknown}")


class ServiceLinkedRoles(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:bootstrap:ServiceLinkedRoles"

    def __init__(self, name: str, args: ServiceLinkedRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        # Kept at `destroy`: the environments' resources act through them after the bootstrap is gone.
        roles = {
            service: aws.iam.ServiceLinkedRole(
                f"{name}-{service.split('.')[0]}",
                aws_service_name=service,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            for service in args.services
        }
        self.role_arns = {service: role.arn for service, role in roles.items()}
        self.register_outputs({"roleArns": self.role_arns})
