"""Grafana dashboards as code: SLO overview, Capacity, Data tier, Edge.

Plain dashboard JSON models from a few typed helpers, not a builder library: the model is what
the Grafana sidecar loads and what reviewers diff, the four boards use two panel types, and
the libraries either lag Grafana's schema (grafanalib) or version with each Grafana release
(grafana-foundation-sdk), which the chart's Grafana does not follow.

Prometheus panels query the SLO recording rules (slo_rules.py) and metrics the stack exports
(metric_catalog.py); tests/test_dashboards.py runs every expression through promtool and
checks each metric name against the catalogue. CloudWatch panels pick their resources through
dashboard variables filtered by the stack's name prefix, so a board needs no resource IDs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.observability.alarm_specs import CDN_NAMESPACE

PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
CLOUDWATCH = {"type": "cloudwatch", "uid": "cloudwatch"}
#: CloudFront and its WAF publish to us-east-1 only.
EDGE_REGION = "us-east-1"
SCHEMA_VERSION = 39


@dataclass(frozen=True)
class DashboardTargets:
    """What the boards draw as thresholds; the seed's targets, from the stack's config."""

    #: The stack's name prefix (sd-<env>): CloudWatch variables list only its resources.
    prefix: str
    region: str
    #: Namespace of the applications and services whose SLOs count.
    namespace: str
    services: Sequence[str]
    latency_p95_s: float
    availability: float
    #: RDS max_connections: the connection budget PgBouncer is sized against.
    max_connections: int
    rds_latency_ms: float
    cache_hit_rate_percent: float
    cdn_hit_rate_percent: float
    #: The OpenSearch domain (its metrics carry DomainName and the account's ClientId).
    search_domain: str
    search_latency_ms: float


def dashboards(t: DashboardTargets) -> dict[str, dict[str, Any]]:
    """uid -> dashboard model."""
    return {"sd-slo": _slo(t), "sd-capacity": _capacity(t), "sd-data": _data(t), "sd-edge": _edge(t)}


def prometheus_expressions(models: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) for every Prometheus query."""
    return [
        (uid, panel["title"], target["expr"])
        for uid, model in models.items()
        for panel in model["panels"]
        for target in panel.get("targets", [])
        if target["datasource"] == PROMETHEUS
    ]


# --- panels -------------------------------------------------------------------------------


def prom(expr: str, legend: str) -> dict[str, Any]:
    return {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend}


def cloudwatch(
    namespace: str,
    metric: str,
    dimensions: Mapping[str, str],
    stat: str,
    region: str = "default",
    label: str = "",
    match_exact: bool = True,
) -> dict[str, Any]:
    """A CloudWatch metric query; `match_exact=False` also matches series with more dimensions."""
    return {
        "datasource": CLOUDWATCH,
        "queryMode": "Metrics",
        "metricQueryType": 0,
        "metricEditorMode": 0,
        "region": region,
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dict(dimensions),
        "statistic": stat,
        "matchExact": match_exact,
        "label": label,
    }


def _thresholds(steps: Sequence[tuple[float | None, str]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": value, "color": color} for value, color in steps]}


def panel(
    title: str,
    targets: Sequence[dict[str, Any]],
    unit: str,
    kind: str = "timeseries",
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    description: str = "",
) -> dict[str, Any]:
    """A panel; a threshold above the base step is drawn as a line on time series."""
    defaults: dict[str, Any] = {"unit": unit, "thresholds": _thresholds(thresholds)}
    if kind == "timeseries" and len(thresholds) > 1:
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": targets[0]["datasource"] if targets else PROMETHEUS,
        "targets": [{**target, "refId": chr(ord("A") + i)} for i, target in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
    }


def _board(uid: str, title: str, panels: Sequence[dict[str, Any]], variables: Sequence[dict[str, Any]] = ()) -> dict:
    """Lays panels out two per row, 12 columns by 8 rows each."""
    laid_out = [
        {**p, "id": i + 1, "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)}}
        for i, p in enumerate(panels)
    ]
    return {
        "uid": uid,
        "title": title,
        "tags": ["smartdairy"],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "editable": False,
        "templating": {"list": list(variables)},
        "panels": laid_out,
    }


def _dimension_variable(
    name: str, namespace: str, metric: str, key: str, region: str, regex: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "query",
        "datasource": CLOUDWATCH,
        "query": {
            "queryType": "dimensionValues",
            "region": region,
            "namespace": namespace,
            "metricName": metric,
            "dimensionKey": key,
            "refId": name,
        },
        "regex": regex,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
    }


# --- boards -------------------------------------------------------------------------------


def _slo(t: DashboardTargets) -> dict[str, Any]:
    services = "|".join(t.services)
    latency = t.latency_p95_s
    budget = round(1 - t.availability, 6)
    requests = f'http_requests_total{{service=~"{services}"}}'
    errors = f'http_requests_total{{service=~"{services}",code=~"5.."}}'
    return _board(
        "sd-slo",
        "Smart Dairy / SLO overview",
        [
            panel(
                "API latency p95 (target < 300 ms)",
                [prom("service:http_request_duration_seconds:p95_5m", "{{service}} p95")],
                "s",
                thresholds=((None, "green"), (latency, "red")),
            ),
            panel(
                "API latency p99 (warning at 500 ms)",
                [
                    prom(
                        "histogram_quantile(0.99, sum by (service, le) "
                        f'(rate(http_request_duration_seconds_bucket{{service=~"{services}"}}[5m])))',
                        "{{service}} p99",
                    )
                ],
                "s",
                thresholds=((None, "green"), (0.5, "red")),
            ),
            panel(
                f"Error budget remaining over the range ({t.availability:.1%} SLO)",
                [
                    prom(
                        f"1 - (sum by (service) (increase({errors}[$__range]))"
                        f" / sum by (service) (increase({requests}[$__range]))) / {budget}",
                        "{{service}}",
                    )
                ],
                "percentunit",
                kind="stat",
                thresholds=((None, "red"), (0.25, "orange"), (0.5, "green")),
            ),
            panel(
                "Request rate",
                [prom("service:http_requests:rate5m", "{{service}}")],
                "reqps",
            ),
            panel(
                "Availability, 1 h window",
                [prom("1 - service:http_errors:ratio_rate1h", "{{service}}")],
                "percentunit",
                thresholds=((None, "red"), (t.availability, "green")),
            ),
            panel(
                "Error budget burn rate (page at 14.4x / 6x)",
                [
                    prom(f"service:http_errors:ratio_rate1h / {budget}", "{{service}} 1 h"),
                    prom(f"service:http_errors:ratio_rate6h / {budget}", "{{service}} 6 h"),
                ],
                "none",
                thresholds=((None, "green"), (6, "orange"), (14.4, "red")),
            ),
        ],
    )


def _capacity(t: DashboardTargets) -> dict[str, Any]:
    ns = f'namespace="{t.namespace}"'
    return _board(
        "sd-capacity",
        "Smart Dairy / Capacity",
        [
            panel(
                "HPA replicas: current, desired, max",
                [
                    prom(
                        f"kube_horizontalpodautoscaler_status_current_replicas{{{ns}}}",
                        "{{horizontalpodautoscaler}} current",
                    ),
                    prom(
                        f"kube_horizontalpodautoscaler_status_desired_replicas{{{ns}}}",
                        "{{horizontalpodautoscaler}} desired",
                    ),
                    prom(f"kube_horizontalpodautoscaler_spec_max_replicas{{{ns}}}", "{{horizontalpodautoscaler}} max"),
                ],
                "none",
            ),
            panel(
                "Pending and unschedulable pods",
                [
                    prom(f'sum(kube_pod_status_phase{{{ns},phase="Pending"}})', "pending"),
                    prom(f"sum(kube_pod_status_unschedulable{{{ns}}})", "unschedulable"),
                ],
                "none",
                thresholds=((None, "green"), (1, "red")),
            ),
            panel(
                "Nodes by Karpenter pool",
                [prom("count by (label_karpenter_sh_nodepool) (kube_node_labels)", "{{label_karpenter_sh_nodepool}}")],
                "none",
            ),
            panel(
                "CPU used / requested, per container",
                [
                    prom(
                        f'sum by (container) (rate(container_cpu_usage_seconds_total{{{ns},container!=""}}[5m]))'
                        f' / sum by (container) (kube_pod_container_resource_requests{{{ns},resource="cpu"}})',
                        "{{container}}",
                    )
                ],
                "percentunit",
                thresholds=((None, "green"), (0.7, "orange")),
            ),
            panel(
                "Memory used / requested, per container",
                [
                    prom(
                        f'sum by (container) (container_memory_working_set_bytes{{{ns},container!=""}})'
                        f' / sum by (container) (kube_pod_container_resource_requests{{{ns},resource="memory"}})',
                        "{{container}}",
                    )
                ],
                "percentunit",
                thresholds=((None, "green"), (0.8, "orange")),
            ),
        ],
    )


def _rds(metric: str, stat: str, label: str = "") -> dict[str, Any]:
    """An RDS metric of the instances the `db` variable selects, labelled per instance."""
    return cloudwatch(
        "AWS/RDS", metric, {"DBInstanceIdentifier": "$db"}, stat, label=f"{label}${{PROP('Dim.DBInstanceIdentifier')}}"
    )


def _redis(metric: str, stat: str, label: str = "") -> dict[str, Any]:
    """An ElastiCache metric of the nodes the `redis` variable selects, labelled per node."""
    return cloudwatch(
        "AWS/ElastiCache", metric, {"CacheClusterId": "$redis"}, stat, label=f"{label}${{PROP('Dim.CacheClusterId')}}"
    )


def _data(t: DashboardTargets) -> dict[str, Any]:
    return _board(
        "sd-data",
        "Smart Dairy / Data tier",
        [*_pool_panels(t), *_rds_panels(t), *_cache_and_search_panels(t)],
        variables=[
            _dimension_variable("db", "AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", t.region, f"/^{t.prefix}-/"),
            _dimension_variable(
                "redis", "AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", t.region, f"/^{t.prefix}-/"
            ),
        ],
    )


def _pool_panels(t: DashboardTargets) -> list[dict[str, Any]]:
    """PgBouncer: clients, pool efficiency (the seed's > 90 %) and average query time (< 50 ms)."""
    return [
        panel(
            "PgBouncer clients: active and waiting",
            [
                prom("sum by (database) (pgbouncer_pools_client_active_connections)", "{{database}} active"),
                prom("pgbouncer:clients_waiting:sum", "{{database}} waiting"),
            ],
            "none",
        ),
        panel(
            "PgBouncer pool efficiency (target > 90 %) and server utilisation",
            [
                prom("pgbouncer:pool_efficiency:ratio_rate5m", "{{database}} efficiency"),
                prom("pgbouncer:server_utilisation:ratio", "{{database}} servers in use"),
            ],
            "percentunit",
            thresholds=((None, "red"), (0.9, "green")),
        ),
        panel(
            "Average query time through PgBouncer (target < 50 ms)",
            [prom("pgbouncer:query_duration_seconds:avg_rate5m", "{{database}}")],
            "s",
            thresholds=((None, "green"), (t.rds_latency_ms / 1000, "red")),
        ),
    ]


def _rds_panels(t: DashboardTargets) -> list[dict[str, Any]]:
    return [
        panel(
            f"RDS connections (budget {t.max_connections})",
            [_rds("DatabaseConnections", "Maximum")],
            "none",
            thresholds=((None, "green"), (t.max_connections, "red")),
        ),
        panel(
            "RDS read / write latency",
            [
                _rds("ReadLatency", "Average", "read "),
                _rds("WriteLatency", "Average", "write "),
            ],
            "s",
            thresholds=((None, "green"), (t.rds_latency_ms / 1000, "red")),
        ),
        panel(
            "RDS replica lag",
            [_rds("ReplicaLag", "Maximum")],
            "s",
        ),
    ]


def _cache_and_search_panels(t: DashboardTargets) -> list[dict[str, Any]]:
    domain = {"DomainName": t.search_domain}  # ClientId (the account) left to match any
    return [
        panel(
            f"Redis hit rate (target > {t.cache_hit_rate_percent:g} %)",
            [_redis("CacheHitRate", "Average")],
            "percent",
            thresholds=((None, "red"), (t.cache_hit_rate_percent, "green")),
        ),
        panel(
            f"OpenSearch search latency (alarm at {t.search_latency_ms:g} ms)",
            [cloudwatch("AWS/ES", "SearchLatency", domain, "Average", match_exact=False)],
            "ms",
            thresholds=((None, "green"), (t.search_latency_ms, "red")),
        ),
        panel(
            "OpenSearch JVM memory pressure and cluster status",
            [
                cloudwatch("AWS/ES", "JVMMemoryPressure", domain, "Maximum", label="JVM %", match_exact=False),
                cloudwatch("AWS/ES", "ClusterStatus.red", domain, "Maximum", label="red", match_exact=False),
                cloudwatch("AWS/ES", "ClusterStatus.yellow", domain, "Maximum", label="yellow", match_exact=False),
            ],
            "none",
        ),
        panel(
            "Redis evictions and memory",
            [
                _redis("Evictions", "Sum", "evictions "),
                _redis("DatabaseMemoryUsagePercentage", "Maximum", "memory % "),
            ],
            "none",
        ),
    ]


def _edge(t: DashboardTargets) -> dict[str, Any]:
    cdn = {"DistributionId": "$distribution", "Region": "Global"}
    alb = {"LoadBalancer": "$alb"}
    return _board(
        "sd-edge",
        "Smart Dairy / Edge",
        [
            panel(
                f"Cacheable paths: sampled requests and cache hits (target: hits > {t.cdn_hit_rate_percent:g} %)",
                [
                    cloudwatch(CDN_NAMESPACE, "Requests", {"Scope": "all"}, "Sum", EDGE_REGION, "requests"),
                    cloudwatch(CDN_NAMESPACE, "Hits", {"Scope": "all"}, "Sum", EDGE_REGION, "hits"),
                ],
                "short",
            ),
            panel(
                "CloudFront 4xx / 5xx error rate",
                [
                    cloudwatch("AWS/CloudFront", "4xxErrorRate", cdn, "Average", EDGE_REGION, "4xx"),
                    cloudwatch("AWS/CloudFront", "5xxErrorRate", cdn, "Average", EDGE_REGION, "5xx"),
                ],
                "percent",
            ),
            panel(
                "CloudFront origin latency p95",
                [cloudwatch("AWS/CloudFront", "OriginLatency", cdn, "p95", EDGE_REGION)],
                "ms",
            ),
            panel(
                "WAF blocked requests",
                [cloudwatch("AWS/WAFV2", "BlockedRequests", {"WebACL": "$webacl", "Rule": "ALL"}, "Sum", EDGE_REGION)],
                "none",
            ),
            panel(
                "ALB target response time p95 (target < 300 ms)",
                [cloudwatch("AWS/ApplicationELB", "TargetResponseTime", alb, "p95")],
                "s",
                thresholds=((None, "green"), (t.latency_p95_s, "red")),
            ),
            panel(
                "ALB 5xx responses",
                [
                    cloudwatch("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", label="targets"),
                    cloudwatch("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, "Sum", label="load balancer"),
                ],
                "none",
            ),
        ],
        variables=[
            _dimension_variable("distribution", "AWS/CloudFront", "Requests", "DistributionId", EDGE_REGION),
            _dimension_variable("webacl", "AWS/WAFV2", "BlockedRequests", "WebACL", EDGE_REGION, f"/^{t.prefix}-/"),
            _dimension_variable(
                "alb", "AWS/ApplicationELB", "RequestCount", "LoadBalancer", t.region, f"/^app\\/{t.prefix}-/"
            ),
        ],
    )
