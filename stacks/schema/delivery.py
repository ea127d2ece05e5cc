"""Config of the delivery path: the bootstrap's (once per account) and each platform stack's
`delivery` section, which names what the bootstrap made for its environment."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from components.delivery.github import REPOSITORY
from components.delivery.service_linked_roles import PLATFORM_SERVICE_ROLES
from components.network.runner_peering import RunnerNetwork, private_range
from components.settings import Section

from .environment import ENVIRONMENTS

IAM_POLICY = r"^arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9_+=,.@/-]+$"
ROLE = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
STACK = r"^[A-Za-z0-9_.-]{1,100}$"


class DeliveryConfig(Section):
    """Who deploys and previews this stack, and from where (the bootstrap's outputs for its
    environment). Fixed principals: a preview, a deploy and a person plan the same access."""

    deploy_role_arn: str = Field(
        pattern=ROLE, description="The environment's deploy role: cluster admin through an access entry."
    )
    preview_role_arn: str = Field(
        pattern=ROLE,
        description="The environment's preview role: a read-only access entry (AmazonEKSAdminViewPolicy), "
        "so refresh and preview of the Kubernetes half work.",
    )
    permissions_boundary_arn: str = Field(
        pattern=IAM_POLICY,
        description="The environment's permissions boundary: every IAM role the stack creates carries it "
        "(the deploy role may create no role without it).",
    )
    runner: RunnerNetwork | None = Field(
        None,
        description="The environment's CodeBuild runner network. Unset: the deployer reaches the API through "
        "cluster.publicAccessCidrs or cluster.privateAccessCidrs instead.",
    )


class EnvironmentDelivery(Section):
    """One environment of this account."""

    runner_cidr: str = Field(description="The runner VPC's range (/26 or larger, private, unused).")
    stacks: list[Annotated[str, Field(pattern=STACK)]] = Field(
        default_factory=list, description="Platform stacks of this environment; default: one named like it."
    )
    preview_from_pull_requests: bool = Field(
        description="May same-repository pull requests assume the preview role (and so read this "
        "environment's state)? staging: true; prod: false (pull requests get its offline plan only)."
    )

    @field_validator("runner_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return private_range(value, 26)


class BootstrapConfig(Section):
    """`bootstrap/Pulumi.<account>.yaml`: one stack per AWS account."""

    region: str = Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", description="AWS region (aws:region).")
    repository: str = Field(pattern=REPOSITORY, description="owner/name of the GitHub repository.")
    create_oidc_provider: bool = Field(
        True, description="false if the account already has GitHub's OIDC provider (one per URL)."
    )
    environments: dict[str, EnvironmentDelivery] = Field(
        min_length=1,
        description="The environments this account hosts: both (one account) or one (one account per "
        "environment, each with its own bootstrap stack).",
    )
    state_admins: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[A-Za-z0-9_+=,.@/*-]+$")]
    ] = Field(
        min_length=1,
        description="Principals (ARNs, * allowed) that may read and write every stack's state and the "
        "backend's meta.yaml: whoever runs `pulumi stack init` and break-glass (e.g. the SSO admin role).",
    )
    deploy_session_hours: int = Field(
        4,
        ge=1,
        le=12,
        description="Longest deploy session and runner build, hours (README 'Real use': prod's first up).",
    )
    owner: str = Field("platform", description="Owner tag.")
    cost_center: str = Field("platform", description="CostCenter tag.")
    runner_log_retention_days: int = Field(365, description="Days the runners' build logs are kept.")
    service_linked_roles: list[str] = Field(
        list(PLATFORM_SERVICE_ROLES),
        description="The account's service-linked roles to create (the platform needs both; nothing else makes "
        "them): list only those the account lacks, creating one twice fails. Kept on destroy.",
    )

    @field_validator("service_linked_roles")
    @classmethod
    def _known_once_each(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PLATFORM_SERVICE_ROLES))
        if unknown:
            raise ValueError(f"unknown services {', '.join(unknown)}; allowed: {', '.join(PLATFORM_SERVICE_ROLES)}")
        if len(set(value)) != len(value):
            raise ValueError(f"a service appears twice in {value}")
        return value

    @field_validator("environments")
    @classmethod
    def _known(cls, value: dict[str, EnvironmentDelivery]) -> dict[str, EnvironmentDelivery]:
        unknown = sorted(set(value) - set(ENVIRONMENTS))
        if unknown:
            raise ValueError(f"unknown environments {', '.join(unknown)}; allowed: {', '.join(ENVIRONMENTS)}")
        return value

    @model_validator(mode="after")
    def _separate_runners(self) -> BootstrapConfig:
        ranges = {env: ipaddress.ip_network(spec.runner_cidr) for env, spec in self.environments.items()}
        for env, net in ranges.items():
            clash = [o for o, other in ranges.items() if o < env and net.overlaps(other)]
            if clash:
                raise ValueError(f"environments.{env}.runnerCidr: overlaps environments.{clash[0]}.runnerCidr")
        return self

    def stacks_of(self, environment: str) -> list[str]:
        return self.environments[environment].stacks or [environment]
