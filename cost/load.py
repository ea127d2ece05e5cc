"""The points a month is priced at: how many users the stack serves all month, and what the
elastic parts (HPA-scaled pods, Karpenter's nodes) hold for them.

- `min`: every HPA at minReplicas, node groups at their desired size: the floor.
- `target`: pods and nodes sized for the capacity target (the seed's 10,000 users) all month,
  from the capacity model's demand per user.
- `max`: everything at its configured limit: HPAs at maxReplicas, Karpenter's pools at their CPU
  limits, node groups at maxSize. The runaway bound.

Traffic (requests, transfer, logs) is the month's, the same at the three points: the target's
users times `Usage.mean_concurrency_share`, since the target is a peak, not a month-long load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capacity.assumptions import Assumptions
from capacity.demand import UserDemand, user_demand
from capacity.model import evaluate
from capacity.stack import cpu, supply

from .usage import Usage

if TYPE_CHECKING:
    from stacks.schema import PlatformConfig


@dataclass(frozen=True)
class Point:
    name: str
    #: Concurrent users the elastic parts are sized for.
    users: float
    #: The month's mean API requests per second (through CloudFront and the ALB).
    api_rps: float
    #: The month's mean journey iterations per second (static assets are per iteration).
    iterations_per_s: float
    #: vCPUs the application pods request, before node overhead; inf: pools at their limits.
    pod_vcpu: float
    #: Node groups and pools at their maximum.
    at_limits: bool


@dataclass(frozen=True)
class Load:
    """The stack's points, and what a point at any number of users is (for cost per user)."""

    points: dict[str, Point]
    demand: UserDemand
    allocatable_share: float

    def __iter__(self):
        return iter(self.points.values())


def load(config: PlatformConfig, u: Usage, a: Assumptions | None = None) -> Load:
    a = a or Assumptions()
    d = user_demand(a)
    target = config.capacity.target_users
    supported = evaluate(supply(config, a), target, a).users_supported
    mean_users = target * u.mean_concurrency_share
    points = {
        "min": at_users(config, a, d, "min", 0, mean_users),
        "target": at_users(config, a, d, "target", target, mean_users),
        "max": Point("max", supported, mean_users * d.api, mean_users / d.iteration_s, math.inf, True),
    }
    return Load(points, d, a.node_allocatable_share)


def at_users(
    config: PlatformConfig, a: Assumptions, d: UserDemand, name: str, users: float, mean_users: float
) -> Point:
    """Pods and nodes for `users` at peak, each HPA within its bounds, the steady pods (PgBouncer,
    Odoo longpolling) always; the month's traffic from `mean_users`."""
    odoo, gateway = config.workloads.odoo, config.workloads.gateway
    odoo_pods = _pods(users * d.odoo, odoo.workers / a.odoo_request_s, odoo.hpa)
    gateway_pods = _pods(users * d.api, a.gateway_pod_rps, gateway.hpa)
    pools = config.pgbouncer
    steady = sum(getattr(pools, role).replicas for role in ("rw", "ro", "session")) * cpu(
        pools.resources.cpu_request
    ) + odoo.longpolling_replicas * cpu(odoo.longpolling_resources.cpu_request)
    vcpu = steady + odoo_pods * cpu(odoo.resources.cpu_request) + gateway_pods * cpu(gateway.resources.cpu_request)
    return Point(name, users, mean_users * d.api, mean_users / d.iteration_s, vcpu, False)


def _pods(rps: float, pod_rps: float, hpa) -> float:
    """The month's mean pods for `rps`, within the HPA's bounds: during a scheduled floor's hours
    at least what it records (its replicas plus the HPA's tolerance), minReplicas otherwise."""
    needed = math.ceil(rps / pod_rps)
    floor = hpa.scheduled_floor
    if floor is None:
        return min(max(needed, hpa.min_replicas), hpa.max_replicas)
    inside = min(max(needed, floor.recorded), hpa.max_replicas)
    outside = min(max(needed, hpa.min_replicas), hpa.max_replicas)
    return (inside * floor.hours + outside * (24 - floor.hours)) / 24
