"""Config of the observability loop: SLO rules, CloudWatch alarms, alert routing, Grafana.

Defaults are the seed's targets (section 1.4 and the milestone's task table, copied in
tests/fixtures/seed/targets.json): API p95 < 300 ms, database query < 50 ms, cache hit rate
> 80 %, 99.9 % uptime. Everything else is an operational threshold of ours, named as such.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .base import Section

DURATION = r"^\d+[smh]$"
#: CloudWatch evaluates standard-resolution metrics per minute; shorter periods need high resolution.
ALARM_PERIODS = (60, 300, 900, 3600)


class SloConfig(Section):
    """Alert thresholds of the SLO rules. Defaults: the seed's targets."""

    latency_p95_s: float = Field(0.3, gt=0, le=60, description="API p95 latency target, seconds (the seed: 300 ms).")
    latency_for: str = Field("5m", pattern=DURATION, description="How long p95 may exceed the target before it alerts.")
    availability: float = Field(
        0.999, gt=0.9, lt=1, description="Availability objective (the seed: 99.9 %); the error budget is 1 minus it."
    )
    pgbouncer_waiting_clients: int = Field(
        10, ge=0, le=10000, description="Clients waiting for a PgBouncer server connection before it alerts."
    )
    pgbouncer_waiting_for: str = Field("2m", pattern=DURATION, description="How long clients may wait so.")
    pgbouncer_max_wait_s: float = Field(
        1.0, gt=0, le=3600, description="Oldest client's wait for a server connection (s) before it alerts."
    )
    hpa_at_max_for: str = Field("15m", pattern=DURATION, description="An HPA at maxReplicas this long alerts.")
    pending_pods_for: str = Field("5m", pattern=DURATION, description="Unschedulable pods this long alert.")
    runbook_base: str = Field(
        "https://github.com/smartdairy/smartdairy-platform/blob/main/docs/runbooks.md",
        pattern=r"^https://\S+$",
        description="Where the alerts' runbook links point (docs/runbooks.md of this repository).",
    )


class AlarmsConfig(Section):
    """CloudWatch alarms on what Prometheus cannot see: RDS, ElastiCache, CloudFront, the ALB, NAT."""

    period_s: int = Field(60, description="Seconds per evaluated datapoint; allowed: 60, 300, 900, 3600.")
    evaluation_periods: int = Field(5, ge=1, le=60, description="Datapoints an alarm looks at.")
    datapoints_to_alarm: int = Field(3, ge=1, le=60, description="Breaching datapoints among them that alarm.")
    missing_data_breaching: bool = Field(
        False,
        description="Alarms whose silence means an outage (RDS and ElastiCache CPU, ALB latency) treat "
        "missing data as breaching (true in prod); the others never do.",
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
        80, gt=0, le=100, description="CloudFront CacheHitRate below this alarms (the seed's 80 % at the edge)."
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
    def _consistent(self) -> AlarmsConfig:
        if self.period_s not in ALARM_PERIODS:
            raise ValueError(f"periodS = {self.period_s}: allowed: {', '.join(map(str, ALARM_PERIODS))}")
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapointsToAlarm ({self.datapoints_to_alarm}) exceeds evaluationPeriods "
                f"({self.evaluation_periods}); allowed: 1 to {self.evaluation_periods}"
            )
        return self


class NotificationsConfig(Section):
    """Who hears about alarms: one SNS topic per stack (and one in us-east-1 for the edge)."""

    emails: list[str] = Field(
        [],
        description="Email addresses subscribed to the alarm topics (each confirms once by mail).",
    )
    https_endpoints: list[str] = Field(
        [], description="HTTPS endpoints subscribed to the alarm topics (an on-call tool's SNS webhook)."
    )

    @model_validator(mode="after")
    def _well_formed(self) -> NotificationsConfig:
        bad = [e for e in self.emails if not _is_email(e)] + [u for u in self.https_endpoints if not _is_https(u)]
        if bad:
            raise ValueError(f"not an email address or https:// URL: {', '.join(bad)}")
        return self


def _is_email(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value


def _is_https(value: str) -> bool:
    return value.startswith("https://") and " " not in value and len(value) > len("https://")


class MonitoringConfig(Section):
    """Prometheus, Grafana, Alertmanager, prometheus-adapter and the CloudWatch alarms."""

    prometheus_chart_version: str = Field(
        "79.7.1", pattern=r"^\d+\.\d+\.\d+$", description="kube-prometheus-stack chart version."
    )
    adapter_chart_version: str = Field(
        "5.2.0", pattern=r"^\d+\.\d+\.\d+$", description="prometheus-adapter chart version."
    )
    retention: str = Field("15d", pattern=r"^\d+[hdw]$", description="How long Prometheus keeps samples (15d, 4w ...).")
    storage_gb: int = Field(50, ge=10, le=10000, description="Prometheus volume, GiB (gp3).")
    slo: SloConfig = Field(SloConfig.model_validate({}), description="Alert thresholds of the SLO rules.")
    alarms: AlarmsConfig = Field(AlarmsConfig.model_validate({}), description="CloudWatch alarm thresholds.")
    notifications: NotificationsConfig = Field(
        NotificationsConfig.model_validate({}), description="Subscribers of the alarm topics."
    )
