"""The estimate as a table, and as the figures the cost-ceiling policy reads."""

from __future__ import annotations

from .estimate import Estimate
from .load import Load
from .prices import PriceBook
from .usage import Usage

LABELS = {"min": "min", "target": "target", "max": "max"}


def usd(value: float) -> str:
    return f"${value:,.0f}"


def figures(result: Estimate, ceiling_usd: float, book: PriceBook) -> dict:
    """What the cost-ceiling policy checks: the runaway bound (max) against the ceiling."""
    return {
        "estimateUsd": {p: round(result.total(p), 2) for p in result.points},
        "ceilingUsd": ceiling_usd,
        "priceFile": f"{book.region} {book.version}",
        "unpriced": sorted(result.unpriced) + sorted(result.missing),
    }


def render(result: Estimate, load: Load, usage: Usage, book: PriceBook, resources: bool = False) -> str:
    points = load.points
    head = "  ".join(f"{LABELS[p]:>11}" for p in result.points)
    lines = [
        f"monthly estimate, USD, prices {book.region} {book.version} ({book.retrieved}); "
        f"points: min = every HPA at minReplicas, target = sized for {points['target'].users:,.0f} users, "
        "max = every limit reached",
        "",
        f"{'component':<58}{head}",
    ]
    for component, totals in result.by_component().items():
        lines.append(f"{component[:57]:<58}" + "  ".join(f"{usd(totals[p]):>11}" for p in result.points))
        if resources:
            lines += _resource_lines(result, component)
    lines.append(f"{'total':<58}" + "  ".join(f"{usd(result.total(p)):>11}" for p in result.points))
    target = points["target"]
    lines += [
        "",
        f"traffic (all points): {target.api_rps:,.0f} API req/s on average, "
        f"the month's mean of {target.api_rps / load.demand.api:,.0f} concurrent users",
        "usage assumptions (cost/usage.py; override with --assume name=value):",
    ]
    lines += [f"  {name} = {value:g}: {note}" for name, value, note in usage.described()]
    lines += _gaps(result)
    return "\n".join(lines)


def _resource_lines(result: Estimate, component: str) -> list[str]:
    out = []
    for urn, totals in result.by_resource().items():
        line = next(x for x in result.lines if x.urn == urn)
        if line.component == component:
            out.append(f"  {line.name[:55]:<56}" + "  ".join(f"{usd(totals[p]):>11}" for p in result.points))
    return out


def _gaps(result: Estimate) -> list[str]:
    lines = []
    if result.unpriced:
        lines += ["", "UNPRICED resource types (no rule, not known to be free):"]
        lines += [f"  {type_} ({len(urns)})" for type_, urns in sorted(result.unpriced.items())]
    if result.missing:
        lines += ["", "MISSING prices (the price file has no such key):"]
        lines += [f"  {key} ({len(urns)} resource(s))" for key, urns in sorted(result.missing.items())]
    return lines
