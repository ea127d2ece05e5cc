"""What every tier's composition needs of the stack, passed as one value.

Each tier module (network, data, compute, applications, edge, observability) takes a
`StackContext` first instead of the same five parameters, and builds its components' Args with
`StackContext.args`, which fills the stack-wide settings (`protect`, `region`, `account_id`)
wherever an Args class has them (and `key_access`, who administers the stack's KMS keys, and
`rds_ca`, the region's RDS CA bundle): no composition retypes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel

from components.aws.kms import KeyAccess
from components.data.credential_rotation import CredentialRotation
from components.data.postgres import PostgresDatabase
from components.data.rds_trust import ca_bundle
from components.data.redis import RedisCache
from components.data.search import SearchDomain

from .schema import PlatformConfig
from .wiring import args_from

T = TypeVar("T")
#: Karpenter finds the subnets and security groups to launch nodes into by this tag.
DISCOVERY_TAG = "karpenter.sh/discovery"


@dataclass(frozen=True)
class StackContext:
    #: Names every resource of the environment (`sd-<env>`); also the EKS cluster's name.
    prefix: str
    config: PlatformConfig
    #: The stack's region, and us-east-1 for what CloudFront needs there.
    regional: aws.Provider
    edge: aws.Provider
    account_id: pulumi.Output[str]
    #: The cost-allocation tags every resource carries (the providers' default tags), for what
    #: AWS creates on the stack's behalf and default tags do not reach: nodes, volumes, ALBs.
    resource_tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def discovery(self) -> dict[str, str]:
        """Karpenter's discovery tag: on the private subnets, the data-clients group and the
        cluster's security group (the cluster is named like the prefix)."""
        return {DISCOVERY_TAG: self.prefix}

    @property
    def key_access(self) -> KeyAccess:
        """Every key of the stack: the account's IAM decides, the deploy role administers."""
        return KeyAccess(self.account_id, [self.config.delivery.deploy_role_arn])

    def on_aws(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.regional])

    def args(self, section: BaseModel, args_type: type[T], **wired: Any) -> T:
        """`args_from`, plus the stack-wide settings the Args class has and nobody wired."""
        return args_from(section, args_type, **self._stack_wide(args_type, wired), **wired)

    def build(self, args_type: type[T], **fields: Any) -> T:
        """Args that take no config section: `fields`, plus the stack-wide settings."""
        return args_type(**self._stack_wide(args_type, fields), **fields)

    def _stack_wide(self, args_type: type, given: dict[str, Any]) -> dict[str, Any]:
        stack_wide = {
            "protect": self.config.protect_stateful_resources,
            "region": self.region,
            "account_id": self.account_id,
            "key_access": self.key_access,
            "credential_rotation_days": self.config.credential_rotation_days,
            "rds_ca": ca_bundle(self.region),
            "resource_tags": dict(self.resource_tags),
        }
        names = {field.name for field in dataclasses.fields(args_type)}
        return {name: value for name, value in stack_wide.items() if name in names and name not in given}


@dataclass(frozen=True)
class DataTier:
    """The data stores: RDS, the ElastiCache groups by role, OpenSearch."""

    database: PostgresDatabase
    caches: dict[str, RedisCache]
    search: SearchDomain

    #: The rotation function of the stores' credentials.
    rotation: CredentialRotation
    #: workload -> the security group its pods wear, which the stores admit (stacks/data.py).
    pod_groups: dict[str, pulumi.Output[str]]

    @property
    def sessions(self) -> RedisCache:
        """Sessions and rate limits live in the noeviction group (the only layout, split)."""
        return self.caches["sessions"]

    @property
    def api_cache(self) -> RedisCache:
        return self.caches["cache"]
