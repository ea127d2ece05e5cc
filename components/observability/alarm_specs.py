"""CloudWatch alarms for what Prometheus cannot see, as plain data: RDS, ElastiCache, CloudFront,
the ALB and NAT. `CloudWatchAlarms` registers them; tests read them without an engine.

Each builder takes the thresholds (from `monitoring.alarms`) and the identifiers CloudWatch
dimensions its metrics by. Where one alarm spans several series (the nodes of a replication
group, the ALB's 5xx against its requests) it is a metric-math alarm, because CloudWatch alarms
take no SEARCH expressions and the node count is the group's, not ours to hard-code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pydantic import Field, model_validator

from components.observability.synthetics import DIMENSION as SYNTHETICS_DIMENSION
from components.observability.synthetics import METRIC as SYNTHETICS_METRIC
from components.observability.synthetics import NAMESPACE as SYNTHETICS_NAMESPACE
from components.observability.synthetics import SyntheticCheck
from components.settings import Section

#: Replication group roles (stacks/data.py): which hold sessions, which the API cache.
SESSION_ROLES = frozenset({"sessions", "shared"})
API_CACHE_ROLES = frozenset({"cache", "shared"})
GREATER = "GreaterThanThreshold"
LESS = "LessThanThreshold"
MIB = 1024 * 1024
GIB = 1024 * MIB
#: The cacheable behaviours' sampled counts (components/edge/cache_hits), summed over 15 minutes:
#: a sample needs a while to make a ratio.
CDN_NAMESPACE = "SmartDairy/CDN"
CDN_HIT_PERIOD_S = 900
#: CloudWatch evaluates standard-resolution metrics per minute; shorter periods need high resolution.
ALARM_PERIODS = (60, 300, 900, 3600)


class AlarmThresholds(Section):
    """Thresholds and evaluation of the CloudWatch alarms on what Prometheus cannot see: RDS,
    ElastiCache, CloudFront, the ALB, NAT and OpenSearch (`monitoring.alarms` in config)."""

    period_s: int = Field(60, description="Seconds per evaluated datapoint; allowed: 60, 300, 900, 3600.")
    evaluation_periods: int = Field(5, ge=1, le=60, description="Datapoints an alarm looks at.")
    datapoints_to_alarm: int = Field(3, ge=1, le=60, description="Breaching datapoints among them that alarm.")
    missing_data_breaching: bool = Field(
        False,
        description="Alarms whose silence means an outage (RDS and ElastiCache CPU, OpenSearch red) treat "
        "missing data as breaching (true in prod); traffic-dependent ones (latencies, rates) never do.",
    )
    rds_cpu_percent: float = Field(80, gt=0, le=100, description="RDS CPUUtilization above this alarms.")
    rds_freeable_memory_mib: int = Field(512, ge=0, description="RDS FreeableMemory below this (MiB) alarms.")
    rds_connections_percent: float = Field(
        90, gt=0, le=100, description="DatabaseConnections above this share of database.maxConnections alarms."
    )
    rds_latency_ms: float = Field(
        50, gt=0, description="RDS ReadLatency / WriteLatency above this (ms) alarms (the seed: query < 50 ms)."
    )
    rds_free_storage_gib: int = Field(10, ge=1, description="RDS FreeStorageSpace below this (GiB) alarms.")
    replica_lag_s: float = Field(30, gt=0, description="ReplicaLag above this (seconds) alarms, per read replica.")
    cache_hit_rate_percent: float = Field(
        80, gt=0, le=100, description="API cache hit rate below this alarms (the seed: > 80 %); cache role only."
    )
    cache_memory_percent: float = Field(
        80,
        gt=0,
        le=100,
        description="DatabaseMemoryUsagePercentage above this alarms on noeviction groups (sessions), "
        "which refuse writes when full.",
    )
    cache_engine_cpu_percent: float = Field(90, gt=0, le=100, description="EngineCPUUtilization above this alarms.")
    cdn_5xx_percent: float = Field(1, gt=0, le=100, description="CloudFront 5xxErrorRate above this alarms.")
    cdn_hit_rate_percent: float = Field(
        80,
        gt=0,
        le=100,
        description="Cache hit rate of CloudFront's cacheable paths (sampled) below this alarms (the seed's 80 %).",
    )
    alb_p95_ms: float = Field(300, gt=0, description="ALB TargetResponseTime p95 above this (ms) alarms (the seed).")
    alb_5xx_percent: float = Field(1, gt=0, le=100, description="ALB and target 5xx share of requests that alarms.")
    nat_packet_drops: int = Field(0, ge=0, description="NAT gateway PacketsDropCount per period above this alarms.")
    search_jvm_pressure_percent: float = Field(
        85, gt=0, le=100, description="OpenSearch JVMMemoryPressure above this alarms (AWS recommends 80-92 %)."
    )
    search_free_storage_gib: int = Field(
        20, ge=1, description="OpenSearch FreeStorageSpace on the fullest node below this (GiB) alarms."
    )
    search_latency_ms: float = Field(
        200,
        gt=0,
        description="OpenSearch average SearchLatency above this (ms) alarms: catalogue search is "
        "part of the API's 300 ms budget.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AlarmThresholds:
        if self.period_s not in ALARM_PERIODS:
            raise ValueError(f"periodS = {self.period_s}: allowed: {', '.join(map(str, ALARM_PERIODS))}")
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapointsToAlarm ({self.datapoints_to_alarm}) exceeds evaluationPeriods "
                f"({self.evaluation_periods}); allowed: 1 to {self.evaluation_periods}"
            )
        return self


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    #: A CloudWatch statistic ("Average", "Maximum", "Sum") or percentile ("p95").
    stat: str


@dataclass(frozen=True)
class AlarmSpec:
    #: Short, stable name within the stack ("rds-primary-cpu"); the alarm is named after it.
    name: str
    description: str
    comparison: str
    threshold: float
    #: Either one metric, or metric-math queries (MetricAlarm.metric_queries shape) whose
    #: `result` query is the alarmed series.
    metric: Metric | None = None
    queries: pulumi.Input[Sequence[Mapping]] | None = None
    #: Silence means an outage: missing data breaches when the stack says so.
    silence_is_outage: bool = False
    #: An outage or data at risk: it pages. Otherwise a warning: the warnings topic, nobody woken.
    pages: bool = False
    #: Seconds per datapoint when the metric comes less often than the stack's period (canaries).
    period_s: int | None = None


def treat_missing_data(spec: AlarmSpec, thresholds: AlarmThresholds) -> str:
    return "breaching" if spec.silence_is_outage and thresholds.missing_data_breaching else "notBreaching"


def rds_alarms(
    t: AlarmThresholds, instances: Mapping[str, pulumi.Input[str]], replicas: Sequence[str], max_connections: int
) -> list[AlarmSpec]:
    """Per instance (`primary`, `replica-1` ...): CPU, memory, connections against the budget,
    I/O latency (the seed's 50 ms), storage; replicas also lag."""
    specs = []
    for role, identifier in instances.items():

        def rds(name: str, stat: str, identifier: pulumi.Input[str] = identifier) -> Metric:
            return Metric("AWS/RDS", name, {"DBInstanceIdentifier": identifier}, stat)

        specs += [
            AlarmSpec(
                f"rds-{role}-cpu",
                f"RDS {role}: CPU above {t.rds_cpu_percent:g} %",
                GREATER,
                t.rds_cpu_percent,
                rds("CPUUtilization", "Average"),
                silence_is_outage=True,
            ),
            AlarmSpec(
                f"rds-{role}-memory",
                f"RDS {role}: freeable memory below {t.rds_freeable_memory_mib} MiB",
                LESS,
                t.rds_freeable_memory_mib * MIB,
                rds("FreeableMemory", "Minimum"),
            ),
            AlarmSpec(
                f"rds-{role}-connections",
                f"RDS {role}: connections above {t.rds_connections_percent:g} % of max_connections ({max_connections})",
                GREATER,
                round(max_connections * t.rds_connections_percent / 100),
                rds("DatabaseConnections", "Maximum"),
                pages=True,
            ),
            *(
                AlarmSpec(
                    f"rds-{role}-{kind.lower()}-io-latency",
                    f"RDS {role}: disk {kind.lower()} I/O latency above {t.rds_latency_ms:g} ms (storage, not "
                    "query time: the seed's 50 ms query target is PgBouncer's PgBouncerQueryTimeHigh alert)",
                    GREATER,
                    t.rds_latency_ms / 1000,
                    rds(f"{kind}Latency", "Average"),
                )
                for kind in ("Read", "Write")
            ),
            AlarmSpec(
                f"rds-{role}-storage",
                f"RDS {role}: free storage below {t.rds_free_storage_gib} GiB",
                LESS,
                t.rds_free_storage_gib * GIB,
                rds("FreeStorageSpace", "Minimum"),
                pages=True,
            ),
        ]
        if role in replicas:
            specs.append(
                AlarmSpec(
                    f"rds-{role}-lag",
                    f"RDS {role}: replica lag above {t.replica_lag_s:g} s",
                    GREATER,
                    t.replica_lag_s,
                    rds("ReplicaLag", "Maximum"),
                )
            )
    return specs


def cache_alarms(
    t: AlarmThresholds, role: str, member_clusters: pulumi.Input[Sequence[str]], eviction_policy: str
) -> list[AlarmSpec]:
    """One replication group. ElastiCache publishes per node (`CacheClusterId` = member cluster),
    so each alarm combines the group's members in metric math.

    Memory and eviction alarms only where sessions live: a pure LRU cache sits at maxmemory and
    evicts by design. In a noeviction group any eviction is a config drift; in a shared
    volatile-ttl group it is a session or a rate-limit window lost."""
    members = pulumi.Output.from_input(member_clusters)

    def combined(metric: str, stat: str, expression: str, label: str) -> pulumi.Output[list[dict]]:
        return members.apply(lambda ids: _member_queries(ids, metric, stat, t.period_s, expression, label))

    specs = [
        AlarmSpec(
            f"redis-{role}-engine-cpu",
            f"ElastiCache {role}: engine CPU above {t.cache_engine_cpu_percent:g} % on a node",
            GREATER,
            t.cache_engine_cpu_percent,
            queries=combined("EngineCPUUtilization", "Maximum", "MAX", "busiest node"),
            silence_is_outage=True,
        )
    ]
    if role in SESSION_ROLES:
        specs.append(
            AlarmSpec(
                f"redis-{role}-memory",
                f"ElastiCache {role}: memory above {t.cache_memory_percent:g} % of maxmemory; when full, "
                "sessions are refused (noeviction) or evicted (volatile-ttl)",
                GREATER,
                t.cache_memory_percent,
                queries=combined("DatabaseMemoryUsagePercentage", "Maximum", "MAX", "fullest node"),
                pages=True,
            )
        )
    if role in SESSION_ROLES:
        lost = (
            "keys evicted from a group that must never evict (its parameter group drifted)"
            if eviction_policy == "noeviction"
            else "keys with a TTL evicted: sessions or rate-limit windows were lost to memory pressure"
        )
        specs.append(
            AlarmSpec(
                f"redis-{role}-evictions",
                f"ElastiCache {role}: {lost}",
                GREATER,
                0,
                queries=combined("Evictions", "Sum", "SUM", "evictions"),
                pages=True,
            )
        )
    if role in API_CACHE_ROLES:
        specs.append(
            AlarmSpec(
                f"redis-{role}-hit-rate",
                f"ElastiCache {role}: hit rate below {t.cache_hit_rate_percent:g} % (the seed: > 80 %)",
                LESS,
                t.cache_hit_rate_percent,
                queries=members.apply(lambda ids: _hit_rate_queries(ids, t.period_s)),
            )
        )
    return specs


def cdn_alarms(t: AlarmThresholds, distribution_id: pulumi.Input[str]) -> list[AlarmSpec]:
    """CloudFront publishes in us-east-1 only, with `Region = Global`: register these there. The
    hit rate is the cacheable behaviours' (components/edge/cache_hits: a sample of their
    requests), not CloudFront's CacheHitRate, which counts the never-cached API and Odoo calls."""
    dims = {"DistributionId": distribution_id, "Region": "Global"}
    scope = {"Scope": "all"}
    return [
        AlarmSpec(
            "cdn-5xx",
            f"CloudFront: 5xx error rate above {t.cdn_5xx_percent:g} %",
            GREATER,
            t.cdn_5xx_percent,
            Metric("AWS/CloudFront", "5xxErrorRate", dims, "Average"),
            pages=True,
        ),
        AlarmSpec(
            "cdn-hit-rate",
            f"CloudFront: cache hit rate of the cacheable paths below {t.cdn_hit_rate_percent:g} % (the seed: > 80 %)",
            LESS,
            t.cdn_hit_rate_percent,
            queries=[
                _input("hits", Metric(CDN_NAMESPACE, "Hits", scope, "Sum"), CDN_HIT_PERIOD_S),
                _input("requests", Metric(CDN_NAMESPACE, "Requests", scope, "Sum"), CDN_HIT_PERIOD_S),
                {
                    "id": "result",
                    "expression": "100 * hits / requests",
                    "label": "cacheable hit %",
                    "return_data": True,
                },
            ],
        ),
    ]


def alb_alarms(t: AlarmThresholds, load_balancer: pulumi.Input[str]) -> list[AlarmSpec]:
    """`load_balancer` is the ALB's ARN suffix (app/<name>/<id>), CloudWatch's dimension."""
    dims = {"LoadBalancer": load_balancer}

    def count(query_id: str, name: str) -> dict:
        return _input(query_id, Metric("AWS/ApplicationELB", name, dims, "Sum"), t.period_s)

    return [
        AlarmSpec(
            "alb-p95",
            f"ALB: p95 target response time above {t.alb_p95_ms:g} ms (the seed: API p95 < 300 ms)",
            GREATER,
            t.alb_p95_ms / 1000,
            # A latency needs traffic: a quiet hour has no datapoint, and that is no outage.
            Metric("AWS/ApplicationELB", "TargetResponseTime", dims, "p95"),
        ),
        AlarmSpec(
            "alb-5xx",
            f"ALB: 5xx responses (its own and the targets') above {t.alb_5xx_percent:g} % of requests",
            GREATER,
            t.alb_5xx_percent,
            queries=[
                count("target5xx", "HTTPCode_Target_5XX_Count"),
                count("elb5xx", "HTTPCode_ELB_5XX_Count"),
                count("requests", "RequestCount"),
                {
                    "id": "result",
                    "expression": "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
                    "label": "5xx %",
                    "return_data": True,
                },
            ],
            pages=True,
        ),
    ]


def nat_alarms(t: AlarmThresholds, nat_gateway_ids: Sequence[pulumi.Input[str]]) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            f"nat-{index + 1}-drops",
            f"NAT gateway {index + 1}: more than {t.nat_packet_drops} packets dropped per period",
            GREATER,
            t.nat_packet_drops,
            Metric("AWS/NATGateway", "PacketsDropCount", {"NatGatewayId": nat_id}, "Sum"),
        )
        for index, nat_id in enumerate(nat_gateway_ids)
    ]


def search_alarms(
    t: AlarmThresholds, domain_name: str, account_id: pulumi.Input[str], data_nodes: int
) -> list[AlarmSpec]:
    """OpenSearch publishes per domain with `DomainName` and `ClientId` (the account). A single
    data node can never place a replica shard, so its domain is yellow for good: it alarms on red
    only (its loss is the outage anyway)."""
    dims = {"DomainName": domain_name, "ClientId": account_id}

    def search(name: str, stat: str) -> Metric:
        return Metric("AWS/ES", name, dims, stat)

    return [
        AlarmSpec(
            "search-red",
            "OpenSearch: cluster status red (a primary shard is unassigned: searches fail or are partial)",
            GREATER,
            0,
            search("ClusterStatus.red", "Maximum"),
            silence_is_outage=True,
            pages=True,
        ),
        *(
            [
                AlarmSpec(
                    "search-yellow",
                    "OpenSearch: cluster status yellow (replica shards unassigned: one node loss from red)",
                    GREATER,
                    0,
                    search("ClusterStatus.yellow", "Maximum"),
                )
            ]
            if data_nodes > 1
            else []
        ),
        AlarmSpec(
            "search-jvm-pressure",
            f"OpenSearch: JVM memory pressure above {t.search_jvm_pressure_percent:g} %",
            GREATER,
            t.search_jvm_pressure_percent,
            search("JVMMemoryPressure", "Maximum"),
        ),
        AlarmSpec(
            "search-storage",
            f"OpenSearch: a node has less than {t.search_free_storage_gib} GiB free (writes block at the watermark)",
            LESS,
            t.search_free_storage_gib * 1024,  # the metric is in MiB
            search("FreeStorageSpace", "Minimum"),
            pages=True,
        ),
        AlarmSpec(
            "search-latency",
            f"OpenSearch: average search latency above {t.search_latency_ms:g} ms",
            GREATER,
            t.search_latency_ms,
            search("SearchLatency", "Average"),
        ),
    ]


def synthetic_alarms(name_prefix: str, checks: Sequence[SyntheticCheck], every_s: int) -> list[AlarmSpec]:
    """Per canary: its slowest URL over the seed's budget (a warning), and failed runs (an error
    status or no answer: users see it too, it pages). One datapoint per run (`every_s`)."""
    specs = []
    for check in checks:
        specs += [
            AlarmSpec(
                f"canary-{check.name}",
                f"Canary {check.name}: {check.target} above {check.budget_ms:g} ms (the seed's target)",
                GREATER,
                check.budget_ms,
                Metric(SYNTHETICS_NAMESPACE, SYNTHETICS_METRIC, {SYNTHETICS_DIMENSION: check.name}, "Maximum"),
                period_s=every_s,
            ),
            AlarmSpec(
                f"canary-{check.name}-failed",
                f"Canary {check.name}: runs fail (an error status or no answer from {', '.join(check.urls)})",
                LESS,
                100,
                Metric(
                    "CloudWatchSynthetics", "SuccessPercent", {"CanaryName": f"{name_prefix}-{check.name}"}, "Average"
                ),
                silence_is_outage=True,
                pages=True,
                period_s=every_s,
            ),
        ]
    return specs


def function_alarms(functions: Mapping[str, pulumi.Input[str]]) -> list[AlarmSpec]:
    """A function that failed: the credential rotation (a failed rotation leaves the previous
    credential in place, and the next period's rotation would cut the clients still holding the
    one before) and the search security function (its mappings did not apply). Label -> name."""
    return [
        AlarmSpec(
            f"{label}-errors",
            f"Lambda {label}: an invocation failed (docs/runbooks.md#{label}-errors)",
            GREATER,
            0,
            Metric("AWS/Lambda", "Errors", {"FunctionName": function}, "Sum"),
        )
        for label, function in functions.items()
    ]


def _input(query_id: str, metric: Metric, period: int) -> dict:
    """A metric-math input query (not itself the alarmed series), MetricAlarm.metric_queries shape."""
    return {
        "id": query_id,
        "metric": {
            "namespace": metric.namespace,
            "metric_name": metric.name,
            "dimensions": metric.dimensions,
            "period": period,
            "stat": metric.stat,
        },
        "return_data": False,
    }


def _member_queries(
    ids: Sequence[str],
    metric: str,
    stat: str,
    period: int,
    reduce: str,
    label: str,
    *,
    key: str = "m",
    result: str = "result",
) -> list[dict]:
    """One query per member node (ids `<key>0`, `<key>1` ...) and `reduce` over them as `result`."""
    query_ids = [f"{key}{index}" for index in range(len(ids))]
    queries = [
        _input(query_id, Metric("AWS/ElastiCache", metric, {"CacheClusterId": member}, stat), period)
        for query_id, member in zip(query_ids, ids, strict=True)
    ]
    expression = f"{reduce}([{', '.join(query_ids)}])"
    return [*queries, {"id": result, "expression": expression, "label": label, "return_data": True}]


def _hit_rate_queries(ids: Sequence[str], period: int) -> list[dict]:
    """100 * hits / (hits + misses) over the whole group: replicas serve reads too."""
    hits = _member_queries(ids, "CacheHits", "Sum", period, "SUM", "hits", key="h", result="hits")
    misses = _member_queries(ids, "CacheMisses", "Sum", period, "SUM", "misses", key="x", result="misses")
    for total in (hits[-1], misses[-1]):
        total["return_data"] = False
    ratio = {"id": "result", "expression": "100 * hits / (hits + misses)", "label": "hit rate %", "return_data": True}
    return [*hits, *misses, ratio]
