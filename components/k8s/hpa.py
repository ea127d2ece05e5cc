"""HorizontalPodAutoscaler (autoscaling/v2) pieces, as plain data.

Kept pure so tests can cross-check every metric an HPA names against the prometheus-adapter
rules that produce it, and the target type against the metric type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    metrics: Sequence[Mapping]
    behavior: Mapping

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError(
                f"HPA needs 1 <= minReplicas <= maxReplicas, got {self.min_replicas} / {self.max_replicas}"
            )


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
