"""Supply against demand: how many concurrent users each tier carries, which tier runs out
first, the headroom at the target, and what is left the moment one availability zone is lost.

Supply is built from the stack's config (capacity/stack.py); this module only does arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .assumptions import Assumptions
from .demand import UserDemand, user_demand


@dataclass(frozen=True)
class Workload:
    """An HPA-scaled Deployment at its maximum."""

    max_replicas: int
    #: Requests per second one pod serves at capacity.
    pod_rps: float
    #: CPU request of one pod, vCPU.
    cpu_request: float


@dataclass(frozen=True)
class Supply:
    """What the stack provides, in plain numbers (capacity/stack.py derives them from config)."""

    az_count: int
    odoo: Workload
    gateway: Workload
    #: vCPUs the node pools may hold for the elastic workloads (limits minus steady pods).
    elastic_vcpu: float
    #: PgBouncer role (rw, ro, session) -> (pods, server connections per pod).
    pgbouncer_pools: dict[str, tuple[int, int]]
    #: RDS: vCPUs of the primary and of each replica, the replica count, Multi-AZ.
    primary_vcpu: int
    replica_vcpu: int
    replicas: int
    multi_az: bool
    #: ElastiCache per role: node vCPUs, shards, replicas per shard.
    redis: dict[str, tuple[int, int, int]]
    #: OpenSearch: data nodes, vCPUs each, zones.
    search_nodes: int
    search_vcpu: int
    search_zones: int


@dataclass(frozen=True)
class Tier:
    name: str
    users: float
    #: Share of the tier left in the first minutes after losing one AZ.
    az_loss_share: float
    detail: str

    @property
    def users_after_az_loss(self) -> float:
        return self.users * self.az_loss_share


@dataclass(frozen=True)
class CapacityReport:
    target_users: int
    demand: UserDemand
    tiers: list[Tier]

    @property
    def bottleneck(self) -> Tier:
        return min(self.tiers, key=lambda t: t.users)

    @property
    def users_supported(self) -> float:
        return self.bottleneck.users

    @property
    def headroom(self) -> float:
        """Spare capacity at the target: 0.2 = 20 % more users than the target fit."""
        return self.users_supported / self.target_users - 1

    @property
    def users_after_az_loss(self) -> float:
        return min(t.users_after_az_loss for t in self.tiers)

    @property
    def az_loss_residual(self) -> float:
        """Users carried after one AZ is lost, as a share of the intact stack's."""
        return self.users_after_az_loss / self.users_supported

    def as_dict(self) -> dict:
        return {
            "targetUsers": self.target_users,
            "usersSupported": round(self.users_supported),
            "bottleneck": self.bottleneck.name,
            "headroom": round(self.headroom, 4),
            "usersAfterAzLoss": round(self.users_after_az_loss),
            "azLossResidual": round(self.az_loss_residual, 4),
            "tiers": {
                t.name: {
                    "users": None if math.isinf(t.users) else round(t.users),
                    "azLossShare": round(t.az_loss_share, 4),
                    "detail": t.detail,
                }
                for t in self.tiers
            },
        }


def surviving(count: int, zones: int) -> int:
    """Of `count` items spread over `zones` with a skew of at most one (topology spread), what a
    zone loss leaves in the worst case: the lost zone held ceil(count / zones) of them."""
    return count - math.ceil(count / zones) if zones > 1 else 0


def evaluate(supply: Supply, target_users: int, a: Assumptions) -> CapacityReport:
    """Zone loss is taken at its first minutes: Multi-AZ databases and caches have failed over,
    nothing has been rescheduled or relaunched yet."""
    d = user_demand(a)
    tiers = [
        Tier("cloudfront", math.inf, 1.0, "elastic (AWS scales it)"),
        Tier("alb", math.inf, 1.0, "elastic across the surviving zones"),
        _pods("api-gateway", supply.gateway, d.api, supply.az_count),
        _pods("odoo", supply.odoo, d.odoo, supply.az_count),
        _nodes(supply, d),
        *_database(supply, d, a),
        *_redis(supply, d, a),
        _search(supply, d, a),
    ]
    return CapacityReport(target_users, d, tiers)


def _pods(name: str, w: Workload, per_user: float, zones: int) -> Tier:
    capacity = w.max_replicas * w.pod_rps
    share = surviving(w.max_replicas, zones) / w.max_replicas
    return Tier(name, capacity / per_user, share, f"{w.max_replicas} pods x {w.pod_rps:g} req/s")


def _nodes(s: Supply, d: UserDemand) -> Tier:
    vcpu_per_user = d.odoo / s.odoo.pod_rps * s.odoo.cpu_request + d.api / s.gateway.pod_rps * s.gateway.cpu_request
    share = (s.az_count - 1) / s.az_count
    return Tier("nodes", s.elastic_vcpu / vcpu_per_user, share, f"{s.elastic_vcpu:g} vCPU for elastic pods")


def _connections(s: Supply, roles: tuple[str, ...]) -> tuple[int, int]:
    """Server connections of these PgBouncer roles, intact and after a zone loss."""
    pools = [s.pgbouncer_pools[r] for r in roles]
    return (
        sum(pods * size for pods, size in pools),
        sum(surviving(pods, s.az_count) * size for pods, size in pools),
    )


def _database(s: Supply, d: UserDemand, a: Assumptions) -> list[Tier]:
    primary_share = 1 - a.replica_read_share if s.replicas else 1.0
    replica_share = a.replica_read_share if s.replicas else 0.0
    odoo_per_user = d.odoo
    primary, primary_left = _connections(s, ("rw", "session"))
    tiers = [
        Tier(
            "pgbouncer-primary",
            primary / (d.db_connection_s * primary_share),
            primary_left / primary,
            f"{primary} server connections to the primary",
        ),
        Tier(
            "rds-primary",
            s.primary_vcpu * a.odoo_requests_per_db_vcpu / (odoo_per_user * primary_share),
            1.0 if s.multi_az else 0.0,
            f"{s.primary_vcpu} vCPU" + (", Multi-AZ" if s.multi_az else ", single-AZ"),
        ),
    ]
    if s.replicas:
        replica, replica_left = _connections(s, ("ro",))
        tiers += [
            Tier(
                "pgbouncer-replicas",
                replica / (d.db_connection_s * replica_share),
                replica_left / replica,
                f"{replica} server connections over {s.replicas} replica(s)",
            ),
            Tier(
                "rds-replicas",
                s.replicas * s.replica_vcpu * a.odoo_requests_per_db_vcpu / (odoo_per_user * replica_share),
                (s.replicas - 1) / s.replicas,
                f"{s.replicas} x {s.replica_vcpu} vCPU",
            ),
        ]
    return tiers


def _redis(s: Supply, d: UserDemand, a: Assumptions) -> list[Tier]:
    demand = {"cache": d.redis_cache_ops, "sessions": d.redis_sessions_ops}
    demand["shared"] = demand["cache"] + demand["sessions"]
    tiers = []
    for role, (vcpu, shards, replicas) in s.redis.items():
        ops = shards * min(vcpu, 4) * a.redis_ops_per_node_vcpu
        tiers.append(
            Tier(
                f"redis-{role}",
                ops / demand[role],
                1.0 if replicas else 0.0,  # a replica in another zone takes over the primary
                f"{shards} shard(s) x {ops / shards:,.0f} ops/s",
            )
        )
    return tiers


def _search(s: Supply, d: UserDemand, a: Assumptions) -> Tier:
    capacity = s.search_nodes * s.search_vcpu * a.searches_per_search_vcpu
    share = surviving(s.search_nodes, s.search_zones) / s.search_nodes
    return Tier("opensearch", capacity / d.search, share, f"{s.search_nodes} data nodes x {s.search_vcpu} vCPU")
