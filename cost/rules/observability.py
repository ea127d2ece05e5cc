"""Log groups, alarms, dashboards, canaries and the budget."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..charges import DAYS_PER_MONTH, Charge, Context, Quantity, rule
from ..inventory import at, number
from ..usage import HOURS_PER_MONTH
from .compute import node_vcpu
from .edge import acl_requests


@rule("aws:cloudwatch/logGroup:LogGroup")
def log_group(r: Mapping, ctx: Context) -> list[Charge]:
    """Ingestion (WAF and flow logs from the traffic, the control plane's and the rest from
    usage) and what the retention keeps stored, compressed (at most a year's worth counted)."""
    ingest = _log_volume(r, ctx)
    months = min(number(r["inputs"].get("retentionInDays"), 365.0) or 365.0, 365.0) / 30.4
    ratio = ctx.usage.log_storage_ratio
    return [
        Charge("log ingestion", "cloudwatch/logs-ingest-gb", ingest),
        Charge(
            f"stored for {months:.0f} month(s), compressed",
            "cloudwatch/logs-storage-gb-month",
            (lambda p: ingest(p) * months * ratio) if callable(ingest) else ingest * months * ratio,
        ),
    ]


def _log_volume(r: Mapping, ctx: Context) -> Quantity:
    u, name = ctx.usage, r["inputs"].get("name") or ""
    for logging in ctx.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"):
        if any(str(d).endswith(f":{r['name']}") for d in logging["inputs"].get("logDestinationConfigs") or []):
            edge = any(
                f"/{acl['name']}/" in str(logging["inputs"].get("resourceArn"))
                and acl["inputs"].get("scope") == "CLOUDFRONT"
                for acl in ctx.of_type("aws:wafv2/webAcl:WebAcl")
            )
            return lambda p: acl_requests(ctx, p, edge) * u.waf_log_kib_per_request / (1024 * 1024)
    for flow in ctx.of_type("aws:ec2/flowLog:FlowLog"):
        if str(flow["inputs"].get("logDestination", "")).endswith(f":{r['name']}"):
            return lambda p: (
                u.flow_log_gb_per_traffic_gb * (u.nat_gb_per_vcpu * node_vcpu(ctx, p) + ctx.traffic(p).alb_gb)
            )
    return u.control_plane_log_gb if name.startswith("/aws/eks/") else u.log_gb_per_group


@rule("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(r: Mapping, ctx: Context) -> list[Charge]:
    """Standard-resolution alarms bill per metric they read (a metric-math alarm per metric)."""
    queries = [q for q in r["inputs"].get("metricQueries") or [] if isinstance(q, Mapping)]
    metrics = sum(1 for q in queries if "metric" in q) or 1
    periods = [number(q.get("metric", {}).get("period"), 60) for q in queries] or [
        number(r["inputs"].get("period"), 60)
    ]
    high = min(periods) < 60
    key = "cloudwatch/high-resolution-alarm-metric-month" if high else "cloudwatch/alarm-metric-month"
    return [Charge(f"{metrics} metric(s)", key, metrics)]


@rule("aws:cloudwatch/dashboard:Dashboard")
def dashboard(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("dashboard", "cloudwatch/dashboard-month", 1)]


@rule("aws:synthetics/canary:Canary")
def canary(r: Mapping, ctx: Context) -> list[Charge]:
    """Runs a month from its schedule, and the two metrics our checks publish."""
    expression = at(r["inputs"], "schedule", "expression") or "rate(5 minutes)"
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    minutes = (int(match.group(1)) * (60 if match.group(2).startswith("hour") else 1)) if match else 5
    runs = HOURS_PER_MONTH * 60 / minutes
    charges = [Charge(f"{runs:,.0f} runs", "synthetics/canary-run", runs)]
    if "METRIC_NAMESPACE" in (at(r["inputs"], "runConfig", "environmentVariables") or {}):
        charges.append(Charge("custom metrics (latency, success)", "cloudwatch/metric-month", 2))
    return charges


@rule("aws:budgets/budget:Budget")
def budget(r: Mapping, ctx: Context) -> list[Charge]:
    """Counted as paid: the account's two free budgets may be in use elsewhere."""
    return [Charge("budget", "budgets/budget-day", DAYS_PER_MONTH)]
