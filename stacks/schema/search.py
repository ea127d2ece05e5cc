"""Config of the search tier (Amazon OpenSearch Service): the catalogue search of the seed's
architecture, off PostgreSQL."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings import LogRetentionDays, Section

INSTANCE_TYPE = r"^[a-z0-9]+\.[a-z0-9]+\.search$"
#: Auto-Tune is not offered on burstable instances (OpenSearch Service developer guide).
NO_AUTO_TUNE = ("t2.", "t3.", "t4g.")


class SearchConfig(Section):
    """An OpenSearch domain in the isolated subnets, reachable on 443 from the data clients only."""

    engine_version: str = Field(
        "OpenSearch_2.19", pattern=r"^OpenSearch_2\.[0-9]+$", description="OpenSearch 2.x engine version."
    )
    instance_type: str = Field(pattern=INSTANCE_TYPE, description="Data node type, e.g. r7g.large.search.")
    instance_count: int = Field(ge=1, le=80, description="Data nodes; a multiple of zoneCount.")
    zone_count: Literal[1, 2, 3] = Field(
        description="Availability zones the data nodes spread over (1: no zone awareness)."
    )
    dedicated_master_count: Literal[0, 3, 5] = Field(
        0, description="Dedicated cluster-manager nodes: 0, 3 or 5 (an odd quorum)."
    )
    dedicated_master_type: str | None = Field(
        None, pattern=INSTANCE_TYPE, description="Cluster-manager node type; required with dedicated masters."
    )
    warm_count: int = Field(0, ge=0, le=150, description="UltraWarm nodes (0: off); needs dedicated masters.")
    warm_type: str | None = Field(
        None, pattern=r"^ultrawarm1\.(medium|large)\.search$", description="UltraWarm node type when warmCount > 0."
    )
    volume_gb: int = Field(ge=10, le=24576, description="gp3 volume per data node, GiB.")
    iops: int = Field(3000, ge=3000, le=16000, description="gp3 IOPS per data node (3000 baseline).")
    throughput_mbps: int = Field(125, ge=125, le=1000, description="gp3 throughput per data node, MiB/s.")
    auto_tune: bool = Field(True, description="Auto-Tune (JVM and queue tuning); not offered on t2/t3/t4g.")
    off_peak_start_hour: int = Field(
        2, ge=0, le=23, description="Start of the daily 10-hour off-peak window (UTC) for updates and Auto-Tune."
    )
    log_retention_days: LogRetentionDays = Field(
        30, description="Days the slow, error and audit logs stay in CloudWatch Logs."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        problems = []
        if self.instance_count % self.zone_count:
            problems.append(
                f"instanceCount {self.instance_count} is not a multiple of zoneCount {self.zone_count}; "
                f"allowed: {', '.join(str(self.zone_count * n) for n in range(1, 4))} ..."
            )
        if (self.dedicated_master_count > 0) != (self.dedicated_master_type is not None):
            problems.append("dedicatedMasterType is required with dedicatedMasterCount 3 or 5, and only then")
        if self.warm_count and (not self.dedicated_master_count or self.warm_type is None):
            problems.append("warmCount > 0 needs dedicatedMasterCount 3 or 5 and a warmType")
        if self.throughput_mbps * 4 > self.iops:
            problems.append(
                f"throughputMbps {self.throughput_mbps} needs iops >= {self.throughput_mbps * 4} "
                "(gp3 allows 0.25 MiB/s per IOPS)"
            )
        if self.auto_tune and self.instance_type.startswith(NO_AUTO_TUNE):
            problems.append(f"autoTune is not offered on {self.instance_type}; set it to false")
        if problems:
            raise ValueError("; ".join(problems))
        return self
