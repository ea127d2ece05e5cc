"""What charges are: a price key and a monthly quantity, fixed or at a point of the load; the
registry of rules by resource type; the helpers every rule family uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .load import Load, Point
from .traffic import Traffic, traffic
from .usage import HOURS_PER_MONTH, Usage

Quantity = float | Callable[[Point], float]
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Charge:
    #: What is billed, for people: "db.r7g.4xlarge, Single-AZ".
    what: str
    #: Key in the price file.
    key: str
    #: Units a month (of the key's unit), fixed or at a point.
    quantity: Quantity

    def units(self, point: Point) -> float:
        return self.quantity(point) if callable(self.quantity) else self.quantity


@dataclass
class Context:
    """The whole inventory and the month's load, for rules that look beyond their resource."""

    resources: list[dict]
    load: Load
    usage: Usage
    _by_type: dict[str, list[dict]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[dict]:
        if not self._by_type:
            for r in self.resources:
                self._by_type.setdefault(r["type"], []).append(r)
        return self._by_type.get(type_, [])

    def traffic(self, point: Point) -> Traffic:
        return traffic(point, self.usage)


Rule = Callable[[Mapping, Context], list[Charge]]
RULES: dict[str, Rule] = {}


def rule(*types: str):
    def register(fn: Rule) -> Rule:
        for type_ in types:
            RULES[type_] = fn
        return fn

    return register


def hours(count: float = 1.0) -> float:
    return count * HOURS_PER_MONTH


def truthy(value: Any) -> bool:
    return value is True or value == "true"


def vcpus_of(instance_class: str) -> int:
    from capacity.stack import vcpus

    return vcpus(instance_class)
