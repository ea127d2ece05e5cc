"""HorizontalPodAutoscaler (autoscaling/v2) pieces, as plain data.

Kept pure so tests can cross-check every metric an HPA names against the prometheus-adapter
rules that produce it, and the target type against the metric type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field, model_validator

from components.settings import Section

#: The custom metrics the seed's HPAs scale on (served by prometheus-adapter: observability's
#: metrics_rules): a Pods metric per pod, and an External p95 in seconds labelled by `service`.
REQUESTS_PER_SECOND = "http_requests_per_second"
LATENCY_P95 = "response_latency_p95"
#: An External metric labelled by `workload`: the pods a scheduled floor asks for right now
#: (recorded by Prometheus from config, served by the adapter; metrics_rules.py).
SCHEDULED_PODS = "smartdairy_scheduled_pods"
#: kube-controller-manager's --horizontal-pod-autoscaler-tolerance default (EKS keeps it).
HPA_TOLERANCE = 0.1


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    metrics: Sequence[Mapping]
    behavior: Mapping


def resource_utilization(resource: str, percent: int) -> dict:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def pods_average(metric: str, average_value: str) -> dict:
    """A per-pod custom metric, averaged over the pods (custom.metrics.k8s.io)."""
    return {
        "type": "Pods",
        "pods": {"metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": average_value}},
    }


def external_value(metric: str, selector: Mapping[str, str], value: str) -> dict:
    """An external metric compared as one value (external.metrics.k8s.io). `Value`, not
    `AverageValue`: a latency percentile must not be divided by the pod count."""
    return {
        "type": "External",
        "external": {
            "metric": {"name": metric, "selector": {"matchLabels": dict(selector)}},
            "target": {"type": "Value", "value": value},
        },
    }


def external_average(metric: str, selector: Mapping[str, str], average_value: str) -> dict:
    """An external metric divided by the pods: `AverageValue` 1 asks for as many pods as the
    metric's value (how KEDA's cron scaler feeds an HPA)."""
    return {
        "type": "External",
        "external": {
            "metric": {"name": metric, "selector": {"matchLabels": dict(selector)}},
            "target": {"type": "AverageValue", "averageValue": average_value},
        },
    }


def policy(kind: str, value: int, period_seconds: int) -> dict:
    return {"type": kind, "value": value, "periodSeconds": period_seconds}


def behavior(
    up_window: int, up_policies: Sequence[dict], down_window: int, down_policies: Sequence[dict], up_select: str | None
) -> dict:
    scale_up = {"stabilizationWindowSeconds": up_window, "policies": list(up_policies)}
    if up_select:
        scale_up["selectPolicy"] = up_select
    return {
        "scaleUp": scale_up,
        "scaleDown": {"stabilizationWindowSeconds": down_window, "policies": list(down_policies)},
    }


class ScheduledFloor(Section):
    """Pods kept every day in the known busy hours (UTC), whatever the load: a spike inside
    them meets pods already running. KEDA's cron scaler, done with what the HPAs already use: a
    Prometheus series that is `replicas` inside the window and 0 outside, an External metric."""

    replicas: int = Field(ge=1, le=500, description="Pods kept from fromHour to toHour.")
    from_hour: int = Field(ge=0, le=23, description="First hour of the window, UTC.")
    to_hour: int = Field(ge=1, le=24, description="Hour the window ends, UTC (24: midnight).")

    @model_validator(mode="after")
    def _ordered(self) -> ScheduledFloor:
        if self.from_hour >= self.to_hour:
            raise ValueError(f"fromHour ({self.from_hour}) must be before toHour ({self.to_hour})")
        return self

    @property
    def hours(self) -> int:
        return self.to_hour - self.from_hour

    @property
    def recorded(self) -> int:
        """The value the HPA reads: `replicas` plus the HPA's tolerance, since a count within 10 %
        of the asked one is kept (33 pods would stay 33 when asked for 36); asked for 40, the HPA
        keeps 37 to 44, never fewer than `replicas`."""
        return math.ceil(self.replicas * (1 + HPA_TOLERANCE))

    def expr(self) -> str:
        """PromQL: `recorded` inside the window, 0 outside (never absent: an HPA whose metric is
        missing stops scaling down)."""
        window = f"hour() >= {self.from_hour} and hour() < {self.to_hour}"
        return f"(vector({self.recorded}) and on() ({window})) or on() vector(0)"


class HpaSettings(Section):
    """One autoscaler's targets and behaviour, as the seed writes them; optional metrics and the
    Pods scale-up policy are left out when None (the gateway scales on CPU and p95 latency, Odoo
    on CPU, memory and requests per second). In config, keys left out take the seed's value."""

    min_replicas: int = Field(ge=1, le=500, description="Fewest pods, also the initial count.")
    max_replicas: int = Field(ge=1, le=500, description="Most pods; PgBouncer's client budget counts them.")
    cpu_utilization: int = Field(ge=10, le=100, description="Target CPU, % of the pods' requests.")
    memory_utilization: int | None = Field(
        None, ge=10, le=100, description="Target memory, % of requests; unset: not a target."
    )
    requests_per_second: int | None = Field(
        None, ge=1, le=100000, description="Pods metric http_requests_per_second per pod; unset: not a target."
    )
    latency_p95: str | None = Field(
        None,
        pattern=r"^[0-9]+m?$",
        description="External metric response_latency_p95 target (seconds; 300m = 300 ms); unset: not a target.",
    )
    scale_up_stabilization_s: int = Field(ge=0, le=3600, description="Scale-up looks back this long.")
    scale_up_percent: int = Field(ge=1, le=1000, description="Scale-up step: +% of current pods per period.")
    scale_up_pods: int | None = Field(
        None, ge=1, le=100, description="Also +pods per period, the larger step wins; unset: percent only."
    )
    scale_up_period_s: int = Field(ge=1, le=1800, description="Period of the scale-up policies.")
    scale_down_stabilization_s: int = Field(ge=0, le=3600, description="Scale-down looks back this long.")
    scale_down_percent: int = Field(ge=1, le=100, description="Scale-down step: -% of current pods per period.")
    scale_down_period_s: int = Field(ge=1, le=1800, description="Period of the scale-down policy.")
    scheduled_floor: ScheduledFloor | None = Field(
        None, description="Pods kept in the daily busy hours (UTC), sized for the known peak; unset: none."
    )

    @model_validator(mode="after")
    def _ordered(self) -> HpaSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        floor = self.scheduled_floor
        if floor is not None and not self.min_replicas < floor.replicas <= self.max_replicas:
            raise ValueError(
                f"scheduledFloor.replicas ({floor.replicas}) must be above minReplicas ({self.min_replicas}) "
                f"and at most maxReplicas ({self.max_replicas})"
            )
        return self


def hpa_spec(settings: HpaSettings, latency_selector: Mapping[str, str], workload: str = "") -> HpaSpec:
    """The autoscaling/v2 spec of one workload; `latency_selector` labels its latency series,
    `workload` its scheduled floor's."""
    s = settings
    metrics = [resource_utilization("cpu", s.cpu_utilization)]
    if s.memory_utilization is not None:
        metrics.append(resource_utilization("memory", s.memory_utilization))
    if s.requests_per_second is not None:
        metrics.append(pods_average(REQUESTS_PER_SECOND, str(s.requests_per_second)))
    if s.latency_p95 is not None:
        metrics.append(external_value(LATENCY_P95, latency_selector, s.latency_p95))
    if s.scheduled_floor is not None:
        metrics.append(external_average(SCHEDULED_PODS, {"workload": workload}, "1"))
    scale_up = [policy("Percent", s.scale_up_percent, s.scale_up_period_s)]
    if s.scale_up_pods is not None:
        scale_up.append(policy("Pods", s.scale_up_pods, s.scale_up_period_s))
    return HpaSpec(
        min_replicas=s.min_replicas,
        max_replicas=s.max_replicas,
        metrics=metrics,
        behavior=behavior(
            s.scale_up_stabilization_s,
            scale_up,
            s.scale_down_stabilization_s,
            [policy("Percent", s.scale_down_percent, s.scale_down_period_s)],
            # Two scale-up policies: the larger step wins (the seed's odoo-hpa).
            up_select="Max" if len(scale_up) > 1 else None,
        ),
    )
