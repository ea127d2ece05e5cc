"""The estimate: every resource of the inventory priced at the load's points, by component.

Nothing is silently zero: a type without a rule or a FREE entry is listed as unpriced, and a
charge whose key the price file lacks is listed as missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .inventory import outer_component
from .load import Load
from .prices import PriceBook
from .rules import FREE, RULES, Context
from .usage import Usage


@dataclass(frozen=True)
class Line:
    """One priced dimension of one resource: USD a month at each point."""

    urn: str
    name: str
    type: str
    component: str
    what: str
    key: str
    usd: dict[str, float]


@dataclass
class Estimate:
    points: list[str]
    lines: list[Line]
    #: The price file priced with ("eu-west-1 2026-11-30.1").
    prices: str = ""
    #: Resource types neither priced nor known to be free -> their URNs.
    unpriced: dict[str, list[str]] = field(default_factory=dict)
    #: Price keys a rule needs that the price file lacks -> the resources needing them.
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unpriced and not self.missing

    def total(self, point: str) -> float:
        return sum(line.usd[point] for line in self.lines)

    def by_component(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(self.points, 0.0))
        for line in self.lines:
            for point in self.points:
                totals[line.component][point] += line.usd[point]
        return dict(sorted(totals.items(), key=lambda item: -item[1][self.points[-1]]))

    def by_resource(self) -> dict[str, dict[str, float]]:
        """URN -> USD a month at each point (what the plan diff compares)."""
        totals: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(self.points, 0.0))
        for line in self.lines:
            for point in self.points:
                totals[line.urn][point] += line.usd[point]
        return dict(totals)

    def as_dict(self) -> dict:
        return {
            "prices": self.prices,
            "points": self.points,
            "total": {p: round(self.total(p), 2) for p in self.points},
            "components": {c: {p: round(v, 2) for p, v in t.items()} for c, t in self.by_component().items()},
            "resources": {
                urn: {
                    "name": lines[0].name,
                    "type": lines[0].type,
                    "component": lines[0].component,
                    "what": "; ".join(line.what for line in lines),
                    "usd": {p: round(sum(line.usd[p] for line in lines), 2) for p in self.points},
                }
                for urn, lines in _grouped(self.lines).items()
            },
            "unpriced": self.unpriced,
            "missing": self.missing,
        }


def _grouped(lines: list[Line]) -> dict[str, list[Line]]:
    grouped: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        grouped[line.urn].append(line)
    return grouped


def estimate(resources: list[dict], book: PriceBook, load: Load, usage: Usage) -> Estimate:
    custom = [r for r in resources if r.get("custom", True)]
    index = {r["urn"]: r for r in resources}
    ctx = Context(custom, load, usage)
    result = Estimate(points=list(load.points), lines=[], prices=f"{book.region} {book.version}")
    for resource in custom:
        type_ = resource["type"]
        if type_ in FREE:
            continue
        rule = RULES.get(type_)
        if rule is None:
            result.unpriced.setdefault(type_, []).append(resource["urn"])
            continue
        component = outer_component(resource, index)
        for charge in rule(resource, ctx):
            if not book.has(charge.key):
                result.missing.setdefault(charge.key, []).append(resource["urn"])
                continue
            price = book.usd(charge.key)
            usd = {name: charge.units(point) * price for name, point in load.points.items()}
            result.lines.append(Line(resource["urn"], resource["name"], type_, component, charge.what, charge.key, usd))
    return result
