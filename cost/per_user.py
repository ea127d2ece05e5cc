"""Cost per user: the month's estimate at the capacity target, per 1,000 users, the share of the
bottleneck tier, and the curve of cost against users (`make capacity`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capacity.assumptions import Assumptions
from capacity.demand import user_demand

from .estimate import Estimate, estimate
from .load import Load, at_users, load
from .prices import PriceBook
from .usage import Usage

if TYPE_CHECKING:
    from stacks.schema import PlatformConfig

#: Capacity tier -> the component type whose cost buys it (pods run on Karpenter's nodes).
TIER_COMPONENTS = {
    "odoo": "smartdairy:autoscaling:Karpenter",
    "api-gateway": "smartdairy:autoscaling:Karpenter",
    "nodes": "smartdairy:autoscaling:Karpenter",
    "pgbouncer-primary": "smartdairy:autoscaling:Karpenter",
    "pgbouncer-replicas": "smartdairy:autoscaling:Karpenter",
    "rds-primary": "smartdairy:database:PostgresDatabase",
    "rds-replicas": "smartdairy:database:PostgresDatabase",
    "opensearch": "smartdairy:search:SearchDomain",
    "redis-cache": "smartdairy:cache:RedisCache",
    "redis-sessions": "smartdairy:cache:RedisCache",
    "redis-shared": "smartdairy:cache:RedisCache",
}


@dataclass(frozen=True)
class CostPerUsers:
    target_users: int
    monthly_usd: float
    bottleneck: str
    bottleneck_usd: float

    @property
    def per_thousand_usd(self) -> float:
        return self.monthly_usd / self.target_users * 1000

    @property
    def bottleneck_share(self) -> float:
        return self.bottleneck_usd / self.monthly_usd if self.monthly_usd else 0.0

    def as_dict(self) -> dict:
        return {
            "targetUsers": self.target_users,
            "monthlyUsd": round(self.monthly_usd, 2),
            "per1000UsersUsd": round(self.per_thousand_usd, 2),
            "bottleneck": self.bottleneck,
            "bottleneckUsd": round(self.bottleneck_usd, 2),
            "bottleneckShare": round(self.bottleneck_share, 4),
        }

    def render(self) -> str:
        return (
            f"cost at {self.target_users:,} users: ${self.monthly_usd:,.0f} a month, "
            f"${self.per_thousand_usd:,.0f} per 1,000 users; the bottleneck tier ({self.bottleneck}) "
            f"costs ${self.bottleneck_usd:,.0f}, {self.bottleneck_share:.0%} of it"
        )


def cost_per_users(result: Estimate, config: PlatformConfig, bottleneck: str) -> CostPerUsers:
    component = TIER_COMPONENTS.get(bottleneck, "")
    tier_usd = sum(
        usd["target"]
        for name, usd in result.by_component().items()
        if component and _tier_part(name, component, bottleneck)
    )
    return CostPerUsers(config.capacity.target_users, result.total("target"), bottleneck, tier_usd)


def _tier_part(component_name: str, component_type: str, tier: str) -> bool:
    """The component's cost counts for the tier; a cache tier is only its own role's group."""
    if not component_name.startswith(component_type + " "):
        return False
    return not tier.startswith("redis-") or component_name.endswith(tier.removeprefix("redis-"))


def curve(
    config: PlatformConfig, resources: list[dict], book: PriceBook, u: Usage, a: Assumptions, users: list[float]
) -> list[float]:
    """The month's cost of the stack sized for, and carrying a mean share of, each user count."""
    d, base = user_demand(a), load(config, u, a)
    totals = []
    for n in users:
        point = at_users(config, a, d, "target", n, n * u.mean_concurrency_share)
        totals.append(estimate(resources, book, Load({"target": point}, d, base.allocatable_share), u).total("target"))
    return totals


def plot(stack: str, users: list[float], totals: list[float], target: int, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (month, per_k) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    month.plot(users, totals, color="tab:blue")
    month.axvline(target, color="grey", linestyle=":", label=f"capacity target ({target:,})")
    month.set_ylabel("USD a month")
    month.set_title(f"{stack}: monthly cost against concurrent users")
    month.legend(fontsize=7)
    per_k.plot(users[1:], [t / n * 1000 for t, n in zip(totals[1:], users[1:], strict=True)], color="tab:green")
    per_k.set_ylabel("USD per 1,000 users")
    per_k.set_xlabel("concurrent users (pods and nodes sized for them; traffic at the month's mean share)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
