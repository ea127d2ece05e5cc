"""The HorizontalPodAutoscaler controller's arithmetic, as kube-controller-manager does it
(pkg/controller/podautoscaler: horizontal.go, replica_calculator.go), on a rendered
autoscaling/v2 spec.

Per metric (replica_calculator.go):
- Resource utilization: usage over requests of the pods with metrics, divided by the target. On a
  scale-up, pods not yet Ready (and pods without metrics) count as using nothing; on a
  scale-down, pods without metrics count as at the target. A recount that flips the direction
  or lands inside the tolerance keeps the current count.
- Pods AverageValue: the same, except that unready pods that report metrics are counted as is.
- External Value: ceil(usage / target x ready pods).
Any ratio within the tolerance (10 %) keeps the current count; the largest proposal wins.

Then behavior (horizontal.go, stabilizeRecommendationWithBehaviors and
convertDesiredReplicasWithBehaviorRate): the scale-up recommendation is the minimum over the
scale-up stabilization window, the scale-down one the maximum over its window; the change is
capped by the policies over their periods (`selectPolicy`: Max takes the largest allowed
change, Min the smallest), measured from the count at the start of each period, and by
min/maxReplicas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: The controller's defaults when a spec leaves `behavior` out (autoscaling/v2 docs).
DEFAULT_SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15},
        {"type": "Pods", "value": 4, "periodSeconds": 15},
    ],
}
DEFAULT_SCALE_DOWN = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


@dataclass(frozen=True)
class PodSample:
    """What the metrics pipeline reports for one pod: None when it has no sample yet."""

    ready: bool
    #: Resource name (cpu, memory) -> utilization in % of the request.
    utilization: Mapping[str, float | None]
    #: Custom Pods metric name -> value.
    custom: Mapping[str, float | None]


@dataclass
class HpaController:
    spec: Mapping
    tolerance: float = 0.10
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scale_up_events: list[tuple[float, int]] = field(default_factory=list)
    scale_down_events: list[tuple[float, int]] = field(default_factory=list)

    @property
    def min_replicas(self) -> int:
        return int(self.spec.get("minReplicas", 1))

    @property
    def max_replicas(self) -> int:
        return int(self.spec["maxReplicas"])

    def reconcile(self, now: float, current: int, pods: Sequence[PodSample], external: Mapping[str, float]) -> int:
        """One sync: the new replica count for `current` pods with these samples."""
        proposals = [
            p for metric in self.spec["metrics"] if (p := self._proposal(metric, current, pods, external)) is not None
        ]
        desired = max(proposals) if proposals else current
        replicas = self._with_behavior(now, current, desired)
        if replicas > current:
            self.scale_up_events.append((now, replicas - current))
        elif replicas < current:
            self.scale_down_events.append((now, current - replicas))
        return replicas

    # --- replica_calculator.go ---------------------------------------------------------------

    def _proposal(self, metric: Mapping, current: int, pods: Sequence[PodSample], external: Mapping[str, float]):
        kind = metric["type"]
        if kind == "Resource":
            resource = metric["resource"]
            target = float(resource["target"]["averageUtilization"])
            samples = [p.utilization.get(resource["name"]) for p in pods]
            # CPU of pods not yet Ready is ignored (they start hot); other resources count as is.
            ignore_unready = resource["name"] == "cpu"
            return self._plain(current, pods, samples, target, ignore_unready)
        if kind == "Pods":
            name = metric["pods"]["metric"]["name"]
            target = _quantity(metric["pods"]["target"]["averageValue"])
            return self._plain(current, pods, [p.custom.get(name) for p in pods], target, ignore_unready=False)
        if kind == "External":
            name, target = metric["external"]["metric"]["name"], metric["external"]["target"]
            if name not in external:
                return None
            if target["type"] == "AverageValue":
                # GetExternalPerPodMetricReplicas: the value shared by the pods.
                per_pod = _quantity(target["averageValue"])
                if abs(external[name] / (per_pod * current) - 1) <= self.tolerance:
                    return current
                return math.ceil(external[name] / per_pod)
            ratio = external[name] / _quantity(target["value"])
            if abs(ratio - 1) <= self.tolerance:
                return current
            ready = sum(1 for p in pods if p.ready)
            return math.ceil(ratio * ready)
        raise ValueError(f"metric type {kind} is not modelled")

    def _plain(
        self,
        current: int,
        pods: Sequence[PodSample],
        samples: Sequence[float | None],
        target: float,
        ignore_unready: bool,
    ) -> int:
        counted = {i: v for i, (p, v) in enumerate(zip(pods, samples, strict=True)) if v is not None}
        ignored = {i for i, p in enumerate(pods) if ignore_unready and not p.ready and i in counted}
        for i in ignored:
            del counted[i]
        missing = [i for i, v in enumerate(samples) if v is None]
        if not counted:
            return current
        ratio = sum(counted.values()) / len(counted) / target
        if not missing and not ignored:
            return current if abs(ratio - 1) <= self.tolerance else math.ceil(ratio * len(counted))
        if ratio < 1:
            counted.update({i: target for i in missing})  # a scale-down assumes the missing at target
        else:
            counted.update({i: 0.0 for i in missing})  # a scale-up assumes them idle
            counted.update({i: 0.0 for i in ignored})
        new_ratio = sum(counted.values()) / len(counted) / target
        if abs(new_ratio - 1) <= self.tolerance or (ratio < 1 < new_ratio) or (ratio > 1 > new_ratio):
            return current
        replicas = math.ceil(new_ratio * len(counted))
        if (new_ratio < 1 and replicas > current) or (new_ratio > 1 and replicas < current):
            return current
        return replicas

    # --- horizontal.go -----------------------------------------------------------------------

    def _with_behavior(self, now: float, current: int, desired: int) -> int:
        behavior = self.spec.get("behavior", {})
        up = {**DEFAULT_SCALE_UP, **behavior.get("scaleUp", {})}
        down = {**DEFAULT_SCALE_DOWN, **behavior.get("scaleDown", {})}
        self.recommendations.append((now, desired))
        longest = max(up["stabilizationWindowSeconds"], down["stabilizationWindowSeconds"])
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - longest - 1]
        up_rec = min(r for t, r in self.recommendations if t > now - up["stabilizationWindowSeconds"] or t == now)
        down_rec = max(r for t, r in self.recommendations if t > now - down["stabilizationWindowSeconds"] or t == now)
        recommendation = current
        if recommendation < up_rec:
            recommendation = up_rec
        if recommendation > down_rec:
            recommendation = down_rec
        if recommendation > current:
            limit = max(self._scale_up_limit(now, current, up), current)
            return min(recommendation, min(self.max_replicas, limit))
        if recommendation < current:
            limit = min(self._scale_down_limit(now, current, down), current)
            return max(recommendation, max(self.min_replicas, limit))
        return min(max(recommendation, self.min_replicas), self.max_replicas)

    def _period_start(self, now: float, current: int, period: float) -> int:
        """The replica count when the policy's period began: undo the changes made since."""
        added = sum(change for t, change in self.scale_up_events if t > now - period)
        removed = sum(change for t, change in self.scale_down_events if t > now - period)
        return current - added + removed

    def _scale_up_limit(self, now: float, current: int, rules: Mapping) -> int:
        if rules["selectPolicy"] == "Disabled":
            return current
        pick = min if rules["selectPolicy"] == "Min" else max
        proposals = []
        for policy in rules["policies"]:
            start = self._period_start(now, current, policy["periodSeconds"])
            if policy["type"] == "Pods":
                proposals.append(start + policy["value"])
            else:
                proposals.append(math.ceil(start * (1 + policy["value"] / 100)))
        return pick(proposals)

    def _scale_down_limit(self, now: float, current: int, rules: Mapping) -> int:
        if rules["selectPolicy"] == "Disabled":
            return current
        # The largest change is the lowest count: Max picks the minimum proposal.
        pick = max if rules["selectPolicy"] == "Min" else min
        proposals = []
        for policy in rules["policies"]:
            start = self._period_start(now, current, policy["periodSeconds"])
            if policy["type"] == "Pods":
                proposals.append(start - policy["value"])
            else:
                proposals.append(int(start * (1 - policy["value"] / 100)))
        return pick(proposals)


def _quantity(value: str | float | int) -> float:
    """A Kubernetes quantity ("100", "300m") as a number."""
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)
