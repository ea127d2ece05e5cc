"""The seed's user-side targets as synthetic checks, as plain data: which URLs each canary
measures, against what budget, and the metric its measurements are published as. The canaries
(canary/), their alarms (alarm_specs.synthetic_alarms) and the dashboard share these names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: Where the canaries publish what they measured (the Synthetics runtime's own `Duration` also
#: counts the runtime's start-up and is no measure of a page).
NAMESPACE = "SmartDairy/Synthetics"
METRIC = "LatencyMs"
DIMENSION = "Check"

#: page: an HTML page and every script, stylesheet and image it references, fetched as a
#: browser would (six at a time); asset: one static file; api: one JSON call.
Kind = Literal["page", "asset", "api"]


@dataclass(frozen=True)
class SyntheticCheck:
    #: `page-load`, `static-asset`, `api`: the canary is `<prefix>-<name>`.
    name: str
    kind: Kind
    #: Absolute https:// URLs on the stack's own hosts; the slowest is the run's figure.
    urls: Sequence[str]
    #: The seed's target for the slowest URL, milliseconds.
    budget_ms: float
    #: What the target is, for alarms and the dashboard.
    target: str
