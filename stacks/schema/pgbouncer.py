"""Config of PgBouncer: pools per role, timeouts, and the client demand they must absorb."""

from __future__ import annotations

from pydantic import Field

from components.k8s.pod_spec import ContainerResources
from components.settings import PinnedImage, Section


class PoolConfig(Section):
    replicas: int = Field(ge=1, le=20, description="PgBouncer pods of this role (fixed: the budget counts them).")
    pool_size: int = Field(ge=1, le=1000, description="Server connections per pod.")
    reserve_pool_size: int = Field(
        0, ge=0, le=100, description="Extra server connections per pod for bursts; the budget counts them."
    )
    max_client_conn: int = Field(ge=10, le=100000, description="Client connections per pod.")


class PgBouncerConfig(Section):
    """PgBouncer pools in front of RDS: rw and ro in transaction mode, session for Odoo's bus."""

    image: PinnedImage = Field("ghcr.io/cloudnative-pg/pgbouncer:1.24.1", description="Pinned tag, never latest.")
    exporter_image: PinnedImage = Field(
        "quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2",
        description="pgbouncer-exporter sidecar image, pinned tag.",
    )
    rw: PoolConfig = Field(description="Transaction-mode pool on the primary (Odoo's writes).")
    ro: PoolConfig = Field(
        description="Transaction-mode pool over the read replicas (Odoo's read-only cursors, the gateway's reads).",
    )
    session: PoolConfig = Field(description="Session-mode pool on the primary for Odoo's bus (LISTEN/NOTIFY).")
    server_idle_timeout_s: int = Field(
        300, ge=10, le=86400, description="Close server connections idle this long, seconds."
    )
    server_lifetime_s: int = Field(
        3600, ge=60, le=86400, description="Recycle server connections older than this, seconds (picks up failovers)."
    )
    query_wait_timeout_s: int = Field(
        30, ge=1, le=600, description="A client waiting this long for a server connection gets an error, seconds."
    )
    resources: ContainerResources = Field(
        ContainerResources(cpuRequest="250m", cpuLimit="1", memoryRequest="64Mi", memoryLimit="256Mi"),
        description="Of each PgBouncer container (the exporter sidecar has its own, fixed).",
    )
