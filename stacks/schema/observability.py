"""Config of the observability loop: SLO rules, CloudWatch alarms, alert routing, Grafana.

Defaults are the seed's targets (section 1.4 and the milestone's task table, copied in
tests/fixtures/seed/targets.json): API p95 < 300 ms, database query < 50 ms, cache hit rate
> 80 %, 99.9 % uptime. Everything else is an operational threshold of ours, named as such.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.observability.alarm_specs import AlarmThresholds
from components.settings import Section

DURATION = r"^[0-9]+[smh]$"


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
    query_time_s: float = Field(
        0.05, gt=0, le=60, description="Average query time through PgBouncer above this (s) alerts (the seed: 50 ms)."
    )
    pool_efficiency: float = Field(
        0.9,
        gt=0,
        lt=1,
        description="PgBouncer pool efficiency (served / offered time) below this alerts (the seed: 90 %).",
    )
    data_targets_for: str = Field(
        "10m",
        pattern=DURATION,
        description="How long query time or pool efficiency may miss its target before it alerts.",
    )
    hpa_at_max_for: str = Field("15m", pattern=DURATION, description="An HPA at maxReplicas this long alerts.")
    pending_pods_for: str = Field("5m", pattern=DURATION, description="Unschedulable pods this long alert.")
    runbook_base: str = Field(
        "https://github.com/smartdairy/smartdairy-platform/blob/main/docs/runbooks.md",
        pattern=r"^https://\S+$",
        description="Where the alerts' runbook links point (docs/runbooks.md of this repository).",
    )


class NotificationsConfig(Section):
    """Who hears about alarms and alerts: critical ones page (the pages topics), the others reach
    an inbox (the warnings topics); each kind has a topic in the stack's region and one in
    us-east-1 for the edge."""

    emails: list[str] = Field(
        [],
        description="Email addresses paged by critical alarms and alerts (each confirms once by mail).",
    )
    https_endpoints: list[str] = Field(
        [], description="HTTPS endpoints paged by critical alarms and alerts (an on-call tool's SNS webhook)."
    )
    warning_emails: list[str] = Field(
        [], description="Email addresses that receive warnings (nobody is paged; each confirms once by mail)."
    )
    warning_https_endpoints: list[str] = Field(
        [], description="HTTPS endpoints that receive warnings (a chat webhook)."
    )

    @model_validator(mode="after")
    def _well_formed(self) -> NotificationsConfig:
        emails, urls = [*self.emails, *self.warning_emails], [*self.https_endpoints, *self.warning_https_endpoints]
        bad = [e for e in emails if not _is_email(e)] + [u for u in urls if not _is_https(u)]
        if bad:
            raise ValueError(f"not an email address or https:// URL: {', '.join(bad)}")
        return self


def _is_email(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value


def _is_https(value: str) -> bool:
    return value.startswith("https://") and " " not in value and len(value) > len("https://")


class CanariesConfig(Section):
    """CloudWatch Synthetics canaries for the seed's user-side targets. URLs must be https:// on the
    stack's own hosts (cdn.domain, www., cdn.odooHost., cdn.apiHost.); unset, they follow the
    domain."""

    enabled: bool = Field(True, description="Run the canaries (and their alarms).")
    schedule_minutes: Literal[1, 5, 10, 15, 30, 60] = Field(5, description="Minutes between runs of each canary.")
    runtime_version: str = Field(
        "syn-python-selenium-14.0",
        pattern=r"^syn-python-selenium-[0-9]+\.[0-9]+$",
        description="CloudWatch Synthetics Python runtime.",
    )
    artifact_retention_days: int = Field(14, ge=1, le=455, description="Days the runs' artifacts are kept.")
    pages: list[str] | None = Field(
        None,
        description="Pages whose load (with their scripts, styles and images) is timed; unset: the portal "
        "(https://<domain>/) and Odoo's shop (https://<odooHost>.<domain>/shop).",
    )
    static_assets: list[str] | None = Field(
        None,
        description="Static files timed through CloudFront; unset: Odoo's favicon "
        "(https://<odooHost>.<domain>/web/static/img/favicon.ico), a cached asset.",
    )
    api_calls: list[str] | None = Field(
        None,
        description="API calls timed; unset: the seed's product list (https://<domain>/api/v2/products?page=1&limit=20).",
    )
    page_load_ms: float = Field(2000, gt=0, description="Page load budget, ms (the seed: < 2 s).")
    static_asset_ms: float = Field(100, gt=0, description="Static asset budget, ms (the seed: < 100 ms).")
    api_ms: float = Field(300, gt=0, description="API round-trip budget, ms (the seed: p95 < 300 ms).")


class MonitoringConfig(Section):
    """Prometheus, Grafana, Alertmanager, prometheus-adapter and the CloudWatch alarms."""

    prometheus_chart_version: str = Field(
        "79.7.1", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="kube-prometheus-stack chart version."
    )
    adapter_chart_version: str = Field(
        "5.2.0", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="prometheus-adapter chart version."
    )
    retention: str = Field(
        "15d", pattern=r"^[0-9]+[hdw]$", description="How long Prometheus keeps samples (15d, 4w ...)."
    )
    storage_gb: int = Field(50, ge=10, le=10000, description="Prometheus volume, GiB (gp3).")
    slo: SloConfig = Field(SloConfig.model_validate({}), description="Alert thresholds of the SLO rules.")
    alarms: AlarmThresholds = Field(AlarmThresholds.model_validate({}), description="CloudWatch alarm thresholds.")
    notifications: NotificationsConfig = Field(
        NotificationsConfig.model_validate({}), description="Subscribers of the alarm topics."
    )
    canaries: CanariesConfig = Field(
        CanariesConfig.model_validate({}), description="Synthetic checks of page load, static assets and the API."
    )
