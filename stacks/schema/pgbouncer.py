"""Config of PgBouncer: pools per role, timeouts, and the client demand they must absorb."""

from __future__ import annotations

from pydantic import Field

from components.apps.pgbouncer_config import PoolRole, ServerTimeouts

from .base import Section

IMAGE = r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$"


class PoolConfig(Section):
    replicas: int = Field(ge=1, le=20, description="PgBouncer pods of this role (fixed: the budget counts them).")
    pool_size: int = Field(ge=1, le=1000, description="Server connections per pod.")
    reserve_pool_size: int = Field(0, ge=0, le=100)
    max_client_conn: int = Field(ge=10, le=100000, description="Client connections per pod.")


class PgBouncerConfig(Section):
    """PgBouncer pools in front of RDS: rw and ro in transaction mode, session for Odoo's bus."""

    image: str = Field(
        "ghcr.io/cloudnative-pg/pgbouncer:1.24.1", pattern=IMAGE, description="Pinned tag, never latest."
    )
    exporter_image: str = Field("quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2", pattern=IMAGE)
    rw: PoolConfig
    ro: PoolConfig
    session: PoolConfig
    server_idle_timeout_s: int = Field(300, ge=10, le=86400)
    server_lifetime_s: int = Field(3600, ge=60, le=86400)
    query_wait_timeout_s: int = Field(30, ge=1, le=600)
    cpu_request: str = Field("250m", pattern=r"^\d+m?$")
    cpu_limit: str = Field("1", pattern=r"^\d+m?$")
    memory_request: str = Field("64Mi", pattern=r"^\d+(Mi|Gi)$")
    memory_limit: str = Field("256Mi", pattern=r"^\d+(Mi|Gi)$")

    def roles(self) -> list[PoolRole]:
        modes = {"rw": ("transaction", False), "ro": ("transaction", True), "session": ("session", False)}
        return [
            PoolRole(
                name=name,
                pool_mode=modes[name][0],
                targets_replicas=modes[name][1],
                replicas=pool.replicas,
                pool_size=pool.pool_size,
                reserve_pool_size=pool.reserve_pool_size,
                max_client_conn=pool.max_client_conn,
            )
            for name, pool in (("rw", self.rw), ("ro", self.ro), ("session", self.session))
        ]

    def timeouts(self) -> ServerTimeouts:
        return ServerTimeouts(
            server_idle_timeout_s=self.server_idle_timeout_s,
            server_lifetime_s=self.server_lifetime_s,
            query_wait_timeout_s=self.query_wait_timeout_s,
        )
