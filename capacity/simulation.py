"""Scale-out in time: a load step against one HPA-scaled workload, second by second.

What happens between "users arrive" and "enough pods serve them":
- the load balancer spreads demand over the Ready pods; a pod serves at most its capacity, and
  its CPU rises with what it serves;
- the metrics pipeline reports late and smoothed: CPU through metrics-server (a 30 s window,
  15 s resolution), requests per second and p95 through Prometheus and prometheus-adapter
  (15 s scrapes, a 2 m rate window);
- the HPA syncs every 15 s (capacity/hpa.py);
- a new pod is Ready after its startup; if no node has room, after Karpenter's launch, the
  node's join and the image pull as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .assumptions import Assumptions
from .hpa import HpaController, PodSample

#: The HPAs' External metrics (components/k8s/hpa.py; not imported: this package stays pure).
LATENCY_P95, SCHEDULED_PODS = "response_latency_p95", "smartdairy_scheduled_pods"

#: Seconds the workload runs at the starting load before the step, so the HPA settles.
WARM_UP_S = 1200
#: p95 latency of a pod far from saturation, and the cap of the queueing model. (ours)
BASE_P95_S = 0.12
MAX_P95_S = 5.0
#: Memory utilization reported by every pod (below any memory target: it never drives scaling).
MEMORY_PERCENT = 50.0


@dataclass(frozen=True)
class WorkloadModel:
    name: str
    #: The rendered autoscaling/v2 HPA spec (minReplicas, maxReplicas, metrics, behavior).
    hpa: Mapping
    #: Requests per second one pod serves at capacity.
    pod_rps: float
    #: Seconds from creation to Ready when a node has room; extra image pull on a new node.
    ready_s: float
    image_pull_s: float
    #: Pods the scheduled floor asks for during the scenario (0: none); scenarios run in the
    #: busy hours, when a floor holds.
    scheduled_pods: float = 0.0
    #: Pods' worth of warm node room (low-priority placeholders the new pods preempt): that many
    #: new pods start without waiting for a node launch.
    warm_pods: int = 0


@dataclass
class Trace:
    """Per second from the step: demand, Ready pods, capacity, the HPA's replica count."""

    time: list[float] = field(default_factory=list)
    demand: list[float] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    replicas: list[int] = field(default_factory=list)
    capacity: list[float] = field(default_factory=list)

    def covered_after(self) -> float | None:
        """Seconds from the step until capacity covers demand for good (None: never)."""
        last_short = max(
            (t for t, d, c in zip(self.time, self.demand, self.capacity, strict=True) if c < d), default=None
        )
        if last_short is None:
            return 0.0
        return None if last_short >= self.time[-1] else last_short + 1


@dataclass
class _Pod:
    ready_at: float


def simulate(
    workload: WorkloadModel,
    demand: Callable[[float], float],
    a: Assumptions,
    node_launches: bool,
    duration_s: int = 900,
) -> Trace:
    """`demand(t)`: requests per second at t (t < 0 is the warm-up). With `node_launches`, every
    pod added after the warm-up waits for a new node; without, nodes always have room."""
    hpa = HpaController(workload.hpa, tolerance=a.hpa_tolerance)
    pods = [_Pod(ready_at=-WARM_UP_S) for _ in range(hpa.min_replicas)]
    history: dict[str, list[tuple[float, float]]] = {"cpu": [], "rps": [], "p95": []}
    trace = Trace()
    headroom = workload.warm_pods
    for second in range(-WARM_UP_S, duration_s):
        now = float(second)
        ready = [p for p in pods if p.ready_at <= now]
        offered = demand(now)
        per_pod = offered / len(ready) if ready else math.inf
        served = min(per_pod, workload.pod_rps)
        load = per_pod / workload.pod_rps
        history["cpu"].append((now, 100 * a.cpu_at_capacity * min(load, 1.0)))
        history["rps"].append((now, served))
        history["p95"].append((now, min(BASE_P95_S / max(1 - load, 0.0) if load < 1 else MAX_P95_S, MAX_P95_S)))
        if second % int(a.hpa_sync_s) == 0:
            observed = {
                "cpu": _lagged(history["cpu"], now, a.scrape_interval_s, a.cpu_window_s),
                "rps": _lagged(history["rps"], now, a.scrape_interval_s, a.adapter_rate_window_s),
                "p95": _lagged(history["p95"], now, a.scrape_interval_s, a.adapter_rate_window_s),
            }
            states = _samples(now, observed)
            samples = [states[(p.ready_at <= now, p.ready_at <= now - 15)] for p in pods]
            external = {LATENCY_P95: observed["p95"], SCHEDULED_PODS: workload.scheduled_pods}
            wanted = hpa.reconcile(now, len(pods), samples, external)
            launching = node_launches and now >= 0
            added = max(wanted - len(pods), 0)
            warm = min(added, headroom) if launching else 0
            headroom -= warm
            pods = _scale(pods, len(pods) + warm, now, workload, a, False) if warm else pods
            pods = _scale(pods, wanted, now, workload, a, launching)
        if now >= 0:
            trace.time.append(now)
            trace.demand.append(offered)
            trace.ready.append(len(ready))
            trace.replicas.append(len(pods))
            trace.capacity.append(len(ready) * workload.pod_rps)
    return trace


def _lagged(series: list[tuple[float, float]], now: float, lag: float, window: float) -> float:
    """The mean of the true values over [now - lag - window, now - lag]."""
    values = [v for t, v in series[-int(lag + window) - 1 :] if now - lag - window <= t <= now - lag]
    return sum(values) / len(values) if values else 0.0


def _samples(now: float, observed: Mapping[str, float]) -> dict[tuple[bool, bool], PodSample]:
    """What a pod reports, by (Ready, Ready for a scrape): until it has been Ready for a scrape
    it has no sample. Pods in one state report alike, so each state is built once a sync."""
    return {
        (ready, reporting): PodSample(
            ready=ready,
            utilization={"cpu": observed["cpu"] if reporting else None, "memory": MEMORY_PERCENT},
            custom={"http_requests_per_second": observed["rps"] if reporting else None},
        )
        for ready in (False, True)
        for reporting in (False, True)
    }


def _scale(pods: list[_Pod], wanted: int, now: float, w: WorkloadModel, a: Assumptions, new_node: bool) -> list[_Pod]:
    if wanted <= len(pods):
        # The ReplicaSet removes pods that are not Ready first, then the youngest.
        return sorted(pods, key=lambda p: p.ready_at)[:wanted]
    start = now + (a.node_launch_s + w.image_pull_s if new_node else 0.0) + w.ready_s
    return pods + [_Pod(ready_at=start) for _ in range(wanted - len(pods))]


def step(users_before: float, users_after: float, per_user: float, ramp_s: float = 0.0) -> Callable[[float], float]:
    """Demand of a load step (a ramp of `ramp_s` seconds) at t = 0, in requests per second."""

    def demand(t: float) -> float:
        if t < 0:
            return users_before * per_user
        share = min(t / ramp_s, 1.0) if ramp_s else 1.0
        return (users_before + (users_after - users_before) * share) * per_user

    return demand
