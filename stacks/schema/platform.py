"""The whole platform's stack config: one section per component."""

from __future__ import annotations

from pydantic import Field

from .base import Section
from .network import NetworkConfig


class TagsConfig(Section):
    """Cost-allocation tags. Project, Environment and ManagedBy are derived, not configured."""

    owner: str = Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$")
    cost_center: str = Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$")


class PlatformConfig(Section):
    environment: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,15}$", description="Short name used in resource names and tags."
    )
    region: str = Field(
        pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$", description="AWS region (the `aws:region` key)."
    )
    tags: TagsConfig
    network: NetworkConfig

    def required_tags(self, project: str) -> dict[str, str]:
        return {
            "Project": project,
            "Environment": self.environment,
            "Owner": self.tags.owner,
            "CostCenter": self.tags.cost_center,
            "ManagedBy": "pulumi",
        }
