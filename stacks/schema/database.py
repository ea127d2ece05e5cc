"""Config of RDS PostgreSQL."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from components.settings import PinnedImage, Section

#: Odoo's catalogue tables the gateway serves reads from (the seed's product and stock queries).
CATALOGUE_TABLES = [
    "product_template",
    "product_product",
    "product_category",
    "product_pricelist",
    "product_pricelist_item",
    "stock_quant",
    "stock_location",
    "uom_uom",
]

WINDOW = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"
_DAY_TIME = r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]"
WEEKLY_WINDOW = rf"^{_DAY_TIME}-{_DAY_TIME}$"


class DatabaseBootstrapConfig(Section):
    """The Job that creates the least-privilege roles (docs/DESIGN.md "Database roles")."""

    image: PinnedImage = Field(
        "docker.io/library/postgres:17.6-alpine",
        description="Image with psql (the official postgres image), pinned; psql 17 speaks to servers 13-17.",
    )
    revision: str = Field(
        "1",
        pattern=r"^[A-Za-z0-9._-]{1,32}$",
        description="Bump to run the bootstrap and migration Jobs again (after Odoo installs modules: the "
        "reader's tables, the seed's indexes).",
    )
    reader_tables: list[str] = Field(
        default_factory=lambda: list(CATALOGUE_TABLES),
        description="Tables of the public schema gateway_ro may SELECT (the gateway's reads); no others.",
    )

    @model_validator(mode="after")
    def _identifiers(self) -> DatabaseBootstrapConfig:
        bad = [t for t in self.reader_tables if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", t)]
        if bad:
            raise ValueError(f"readerTables must be plain lower-case table names; not: {bad}")
        return self


class DatabaseConfig(Section):
    """RDS PostgreSQL primary, read replicas and parameter group."""

    engine_version: str = Field(
        "16",
        pattern=r"^(1[3-7])(\.[0-9]+)?$",
        description="PostgreSQL major (13-17): RDS picks the current minor and, with autoMinorVersionUpgrade, "
        "keeps it current. A major.minor pin needs autoMinorVersionUpgrade false.",
    )
    auto_minor_version_upgrade: bool = Field(
        True, description="RDS applies minor versions in the maintenance window (FSBP RDS.13)."
    )
    instance_class: str = Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="e.g. db.r7g.xlarge.")
    replica_instance_class: str | None = Field(
        None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="Replica class; unset: as instanceClass."
    )
    replicas: int = Field(ge=0, le=5, description="Read replicas, spread over the AZs.")
    multi_az: bool = Field(description="Standby in a second zone for the primary (FSBP RDS.5).")
    allocated_storage_gb: int = Field(100, ge=20, le=65536, description="Initial gp3 storage, GB.")
    max_allocated_storage_gb: int = Field(500, ge=20, le=65536, description="Storage autoscaling ceiling.")
    iops: int | None = Field(None, ge=12000, le=64000, description="gp3 IOPS; only from 400 GB up.")
    storage_throughput_mbps: int | None = Field(None, ge=500, le=4000, description="gp3 MB/s; only from 400 GB up.")
    max_connections: int = Field(
        ge=50, le=5000, description="Explicit: PgBouncer's pools are sized against 85 % of it."
    )
    slow_query_ms: int = Field(250, ge=10, le=60000, description="log_min_duration_statement and auto_explain, ms.")
    idle_in_transaction_timeout_ms: int = Field(
        60000, ge=1000, le=3600000, description="Sessions idle inside a transaction are ended after this, ms."
    )
    work_mem_kb: int = Field(16384, ge=64, le=2097151, description="Memory per sort or hash operation, kB.")
    maintenance_work_mem_kb: int = Field(
        524288, ge=1024, le=2097151, description="Memory for VACUUM and index builds, kB."
    )
    backup_retention_days: int = Field(
        ge=1, le=35, description="Days automated backups are kept (FSBP RDS.11 wants 7+)."
    )
    backup_window: str = Field("02:00-03:00", pattern=WINDOW, description="Daily backup window, UTC (hh:mm-hh:mm).")
    maintenance_window: str = Field(
        "sun:03:30-sun:04:30",
        pattern=WEEKLY_WINDOW,
        description="Weekly maintenance window, UTC (ddd:hh:mm-ddd:hh:mm).",
    )
    deletion_protection: bool = Field(description="RDS refuses to delete the instances.")
    final_snapshot: bool = Field(description="Snapshot the primary when it is deleted.")
    delete_automated_backups: bool = Field(
        description="Delete the automated backups with the primary; false keeps them restorable for "
        "backupRetentionDays after a delete (prod: always false)."
    )
    performance_insights_retention_days: Literal[
        7,
        31,
        62,
        93,
        124,
        155,
        186,
        217,
        248,
        279,
        310,
        341,
        372,
        403,
        434,
        465,
        496,
        527,
        558,
        589,
        620,
        651,
        682,
        713,
        731,
    ] = Field(7, description="Days of Performance Insights history (7 is free).")
    monitoring_interval_s: Literal[1, 5, 10, 15, 30, 60] = Field(
        60, description="Enhanced Monitoring granularity, seconds."
    )
    secret_recovery_window_days: int = Field(30, description="0 deletes at once (staging); else 7-30.")
    bootstrap: DatabaseBootstrapConfig = Field(
        default_factory=DatabaseBootstrapConfig,
        description="The bootstrap Job and the roles it creates.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseConfig:
        problems = []
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            problems.append(
                f"maxAllocatedStorageGb ({self.max_allocated_storage_gb}) must be >= allocatedStorageGb "
                f"({self.allocated_storage_gb})"
            )
        if (self.iops or self.storage_throughput_mbps) and self.allocated_storage_gb < 400:
            problems.append(
                "iops/storageThroughputMbps need allocatedStorageGb >= 400 (below that gp3 runs at its "
                "3000 IOPS / 125 MB/s baseline); remove them or raise allocatedStorageGb"
            )
        if "." in self.engine_version and self.auto_minor_version_upgrade:
            problems.append(
                f"engineVersion {self.engine_version!r} pins a minor while autoMinorVersionUpgrade is true: once "
                f"RDS upgrades the instance, the next `pulumi up` would try to downgrade it; set engineVersion "
                f"to {self.engine_version.split('.')[0]!r} or autoMinorVersionUpgrade to false"
            )
        if self.secret_recovery_window_days != 0 and not 7 <= self.secret_recovery_window_days <= 30:
            problems.append("secretRecoveryWindowDays must be 0 or 7 to 30")
        if problems:
            raise ValueError("; ".join(problems))
        return self
