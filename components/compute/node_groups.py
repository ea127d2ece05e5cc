"""The sizing of the EKS managed node group, as config writes it and EksCluster takes it."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from components.settings import Section


class NodeGroupSizing(Section):
    """The managed node group for cluster-critical pods (tainted CriticalAddonsOnly)."""

    instance_types: list[str] = Field(min_length=1, description="e.g. [m7i.large]")
    min_size: int = Field(ge=1, le=100, description="Fewest system nodes.")
    desired_size: int = Field(ge=1, le=100, description="Initial size only: the autoscaler owns it afterwards.")
    max_size: int = Field(ge=1, le=100, description="Most system nodes.")
    disk_gb: int = Field(50, ge=20, le=1000, description="Root volume per node, GiB (encrypted gp3).")

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", t)]
        if bad:
            raise ValueError(f"not EC2 instance types: {', '.join(bad)} (e.g. m7i.large)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> NodeGroupSizing:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"needs minSize <= desiredSize <= maxSize, got {self.min_size} / {self.desired_size} / {self.max_size}"
            )
        return self
