"""Config of ElastiCache."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.data.redis_acl import LAYOUTS, group_problems
from components.settings import LogRetentionDays, Section

from .database import WEEKLY_WINDOW, WINDOW

#: Engine major versions ElastiCache offers that this platform supports.
ENGINE_VERSIONS = {"redis": ("7.0", "7.1"), "valkey": ("7.2", "8.0", "8.1")}


class CacheConfig(Section):
    """ElastiCache for sessions, the API cache and rate limiting."""

    engine: Literal["redis", "valkey"] = Field("valkey", description="redis or valkey.")
    engine_version: str = Field("8.0", description="Engine major.minor (see ENGINE_VERSIONS).")
    layout: Literal["split", "shared"] = Field(
        description="split: a noeviction group for sessions + rate limits and an allkeys-lru group for the "
        "API cache; shared (one volatile-ttl group) is refused while a client lists key names "
        "(components/data/redis_acl.py)."
    )
    node_type: str = Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$", description="e.g. cache.r7g.large.")
    sessions_node_type: str | None = Field(
        None,
        pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$",
        description="Node type of the sessions group (split layout); unset: as nodeType.",
    )
    shards: int = Field(
        1, ge=1, le=500, description="1 = cluster mode disabled (the seed's KEYS-based invalidation needs it)."
    )
    replicas_per_shard: int = Field(ge=0, le=5, description="0 disables automatic failover and Multi-AZ.")
    idle_client_timeout_s: int = Field(
        300, ge=0, le=86400, description="Idle clients are disconnected after this, seconds (0: never)."
    )
    slowlog_threshold_us: int = Field(10000, ge=0, le=10_000_000, description="Slow-log threshold in microseconds.")
    snapshot_retention_days: int = Field(ge=0, le=35, description="Days automatic snapshots are kept (0: none).")
    snapshot_window: str = Field("03:00-05:00", pattern=WINDOW, description="Daily snapshot window, UTC.")
    maintenance_window: str = Field(
        "sun:05:30-sun:06:30", pattern=WEEKLY_WINDOW, description="Weekly maintenance window, UTC."
    )
    log_retention_days: LogRetentionDays = Field(
        30, description="Days the slow and engine logs stay in CloudWatch Logs."
    )
    final_snapshot: bool = Field(description="Snapshot each group when it is deleted.")

    @model_validator(mode="after")
    def _consistent(self) -> CacheConfig:
        allowed = ENGINE_VERSIONS[self.engine]
        if self.engine_version not in allowed:
            raise ValueError(
                f"engineVersion {self.engine_version!r} is not offered for {self.engine}; allowed: {', '.join(allowed)}"
            )
        if self.final_snapshot and self.snapshot_retention_days == 0:
            raise ValueError("finalSnapshot needs snapshotRetentionDays >= 1")
        problems = [p for group, clients in LAYOUTS[self.layout].items() for p in group_problems(group, clients)]
        if problems:
            raise ValueError(f"layout: {self.layout} is unsafe: {'; '.join(problems)}; allowed: split")
        return self
