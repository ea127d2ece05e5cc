"""What a change costs: two estimates (build/<stack>/cost.json of the base and of the change)
compared per component and per resource, for the plan diff and its pull-request comment."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Changes smaller than this, USD a month, are rounding.
EPSILON = 0.5


@dataclass(frozen=True)
class ResourceDelta:
    #: "+1" created, "-1" deleted, "~" priced differently.
    change: str
    type: str
    name: str
    usd: float
    what: str

    def line(self) -> str:
        return f"{self.change} {self.type} {self.name}: {signed(self.usd)}/month ({self.what})"


@dataclass
class ComponentDelta:
    component: str
    usd: dict[str, float]
    resources: list[ResourceDelta] = field(default_factory=list)


@dataclass
class CostDelta:
    points: list[str]
    before: dict[str, float]
    after: dict[str, float]
    components: list[ComponentDelta]
    #: The price files of both estimates, when they differ (a refresh moves every price).
    repriced: tuple[str, str] | None = None

    @property
    def changed(self) -> bool:
        return any(abs(self.after[p] - self.before[p]) >= EPSILON for p in self.points)

    def summary(self) -> str:
        if not self.changed:
            return "monthly cost: no change"
        if self.repriced:
            return f"monthly cost (prices {self.repriced[0]} -> {self.repriced[1]}): " + self._parts()
        return "monthly cost: " + self._parts()

    def _parts(self) -> str:
        parts = [
            f"{LABELS.get(p, p)} ${a:,.0f} -> ${b:,.0f} ({signed(b - a)})"
            for p in self.points
            for a, b in [(self.before[p], self.after[p])]
        ]
        return "; ".join(parts)


LABELS = {"min": "at minimum", "target": "sized for the target", "max": "at every limit"}


def signed(usd: float) -> str:
    return f"{'+' if usd >= 0 else '-'}${abs(usd):,.0f}"


def compare(old: dict, new: dict) -> CostDelta:
    points = new["points"]
    before = {p: old["total"].get(p, 0.0) for p in points}
    components = []
    for name in sorted(old["components"].keys() | new["components"].keys()):
        a, b = old["components"].get(name, {}), new["components"].get(name, {})
        usd = {p: b.get(p, 0.0) - a.get(p, 0.0) for p in points}
        resources = _resources(old["resources"], new["resources"], name)
        if resources or any(abs(v) >= EPSILON for v in usd.values()):
            components.append(ComponentDelta(name, usd, resources))
    components.sort(key=lambda c: -abs(c.usd["target"]))
    prices = (old.get("prices", ""), new.get("prices", ""))
    repriced = prices if all(prices) and prices[0] != prices[1] else None
    return CostDelta(points, before, dict(new["total"]), components, repriced)


def _resources(old: dict, new: dict, component: str) -> list[ResourceDelta]:
    deltas = []
    for urn in sorted(old.keys() | new.keys()):
        a, b = old.get(urn), new.get(urn)
        entry = b if b is not None else a
        if entry is None or entry["component"] != component:
            continue
        usd = (b["usd"]["target"] if b else 0.0) - (a["usd"]["target"] if a else 0.0)
        if abs(usd) < EPSILON:
            continue
        change = "+1" if a is None else "-1" if b is None else "~"
        deltas.append(ResourceDelta(change, entry["type"], entry["name"], usd, entry["what"].split("; ")[0]))
    return deltas
