"""Every number the model needs that the stack config does not hold, named, with its source.

"seed" = the milestone document's k6 script, HPAs and targets (tests/fixtures/seed/); "ours" =
an engineering estimate to be replaced by the load test's measurement (docs/DESIGN.md "Load test").
Change them here, or per run with `tools/capacity.py --assume name=value`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Assumptions:
    # --- the user journey (seed: tests/load/scenarios/full_load_test.js) ----------------------
    #: Think time per iteration: sleep(Math.random() * 2 + 1), uniform 1-3 s. (seed)
    think_time_s: float = 2.0
    #: Share of iterations that log in first (authenticateUser: 70 %). (seed)
    authenticated_share: float = 0.7
    #: Of authenticated iterations: add to cart 10 %, place an order 1 %. (seed)
    add_to_cart_share: float = 0.1
    order_share: float = 0.01
    #: Mean response time of one request inside an iteration, which lengthens it. (ours, under
    #: the seed's p95 target of 300 ms)
    mean_response_s: float = 0.15
    # --- caches ------------------------------------------------------------------------------
    #: Redis API cache hit ratio on cacheable reads (product list, detail, search). (seed: > 80 %)
    api_cache_hit_ratio: float = 0.80
    # --- per-request work --------------------------------------------------------------------
    #: Wall time an Odoo worker spends on one uncached request. The seed's odoo-hpa targets
    #: 100 req/s per pod; with 4 workers per pod that is 40 ms each at full use. (seed, derived)
    odoo_request_s: float = 0.040
    #: Requests per second one gateway pod serves at its CPU request (async FastAPI, mostly
    #: cache hits and proxying). (ours)
    gateway_pod_rps: float = 400.0
    #: CPU a pod uses at its serving capacity, as a share of its CPU request. (ours)
    cpu_at_capacity: float = 1.0
    #: Server-connection time one Odoo request holds in PgBouncer (its queries, ~4 x 5 ms). (ours)
    db_time_per_odoo_request_s: float = 0.020
    #: Share of that database time that reads through the ro pool (replicas). (ours)
    replica_read_share: float = 0.5
    #: Odoo requests per second one RDS vCPU sustains (simple ORM queries, warm cache). (ours)
    odoo_requests_per_db_vcpu: float = 150.0
    #: Redis commands per second per node vCPU, counting at most 4 vCPUs (one engine thread plus
    #: I/O threads). (ours; ElastiCache's own guidance is to measure)
    redis_ops_per_node_vcpu: float = 50_000.0
    #: Searches per second one OpenSearch data vCPU sustains (catalogue queries). (ours)
    searches_per_search_vcpu: float = 100.0
    # --- Kubernetes and AWS timings ---------------------------------------------------------
    #: From pod creation to Ready on a node that has room: image cached, startup probe. (ours)
    pod_ready_s: dict[str, float] = field(default_factory=lambda: {"odoo": 40.0, "api-gateway": 10.0})
    #: Karpenter: pending pods batched (10 s), EC2 launch, kubelet join and Ready. (ours, from
    #: Karpenter's documented batch window and typical EC2 launch-to-ready times)
    node_launch_s: float = 75.0
    #: Image pull on a new node (Odoo's image is about 1 GB). (ours)
    image_pull_s: dict[str, float] = field(default_factory=lambda: {"odoo": 25.0, "api-gateway": 8.0})
    #: Allocatable share of a node's vCPUs after the kubelet, system reserve and DaemonSets. (ours)
    node_allocatable_share: float = 0.85
    # --- metrics pipeline (this stack's settings) -------------------------------------------
    #: Prometheus scrape interval (ServiceMonitors: 15 s) and the adapter's rate window (2m,
    #: components/observability/metrics_rules.py); metrics-server's CPU window (30 s, resolution 15 s).
    scrape_interval_s: float = 15.0
    adapter_rate_window_s: float = 120.0
    cpu_window_s: float = 30.0
    #: The HPA controller's sync period and tolerance (kube-controller-manager defaults).
    hpa_sync_s: float = 15.0
    hpa_tolerance: float = 0.10

    def with_overrides(self, overrides: dict[str, float]) -> Assumptions:
        unknown = set(overrides) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown assumption(s): {', '.join(sorted(unknown))}")
        return type(self)(**{**self.__dict__, **overrides})
