"""A CloudWatch dashboard of the seed's targets, for people who live in the AWS console: the
same SLOs as Grafana's boards, from CloudWatch's side, plus the state of every alarm."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.observability.alarm_specs import CDN_NAMESPACE, AlarmThresholds
from components.observability.synthetics import DIMENSION, METRIC, NAMESPACE, SyntheticCheck

EDGE_REGION = "us-east-1"


@dataclass(frozen=True)
class CloudWatchDashboardArgs:
    #: Dashboard name (unique per account) and the region of its regional widgets.
    name: str
    #: Region of its regional widgets.
    region: str
    #: Target lines drawn on the widgets: the alarms' thresholds.
    thresholds: AlarmThresholds
    #: The ALB's ARN suffix and the distribution: the edge widgets.
    load_balancer: pulumi.Input[str]
    #: The distribution: the edge widgets.
    distribution_id: pulumi.Input[str]
    #: `primary`, `replica-1` ... -> DBInstanceIdentifier; cache role -> member clusters.
    db_instances: Mapping[str, pulumi.Input[str]]
    #: Cache role -> member clusters.
    cache_members: Mapping[str, pulumi.Input[Sequence[str]]]
    #: Alarms whose state the dashboard shows.
    alarm_arns: Sequence[pulumi.Input[str]]
    #: The canaries' checks: a widget each, against its budget.
    checks: Sequence[SyntheticCheck] = ()


class CloudWatchDashboard(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:CloudWatchDashboard"

    def __init__(self, name: str, args: CloudWatchDashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        body = pulumi.Output.all(
            lb=args.load_balancer,
            distribution=args.distribution_id,
            dbs=args.db_instances,
            caches=args.cache_members,
            alarms=args.alarm_arns,
        ).apply(
            lambda ids: json.dumps(
                dashboard_body(args.region, args.thresholds, **ids, checks=args.checks), sort_keys=True
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name,
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboardName": self.dashboard_name})


def dashboard_body(
    region: str,
    t: AlarmThresholds,
    lb: str,
    distribution: str,
    dbs: Mapping[str, str],
    caches: Mapping[str, Sequence[str]],
    alarms: Sequence[str],
    checks: Sequence[SyntheticCheck] = (),
) -> dict[str, Any]:
    widgets = [
        _metrics(
            "ALB p95 target response time",
            region,
            [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb, {"stat": "p95"}]],
            line=("API p95 target", t.alb_p95_ms / 1000),
        ),
        _metrics(
            "ALB 5xx",
            region,
            [
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
            ],
        ),
        *_edge_widgets(t, distribution),
        _metrics(
            "RDS read latency",
            region,
            [["AWS/RDS", "ReadLatency", "DBInstanceIdentifier", db, {"label": role}] for role, db in dbs.items()],
            line=("query target", t.rds_latency_ms / 1000),
        ),
        _metrics(
            "RDS connections",
            region,
            [
                ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db, {"stat": "Maximum", "label": role}]
                for role, db in dbs.items()
            ],
        ),
        _metrics(
            "ElastiCache hit rate",
            region,
            [
                ["AWS/ElastiCache", "CacheHitRate", "CacheClusterId", member, {"label": f"{role} {member}"}]
                for role, members in caches.items()
                for member in members
            ],
            line=("target", t.cache_hit_rate_percent),
        ),
        *_canary_widgets(region, checks),
        {"type": "alarm", "properties": {"title": "Alarms", "alarms": sorted(alarms)}},
    ]
    return {
        "widgets": [
            {**widget, "x": 12 * (i % 2), "y": 6 * (i // 2), "width": 12, "height": 6}
            for i, widget in enumerate(widgets)
        ]
    }


def _edge_widgets(t: AlarmThresholds, distribution: str) -> list[dict[str, Any]]:
    """CloudFront's (us-east-1): the cacheable paths' sampled hit rate, and 5xx."""
    cdn = ["DistributionId", distribution, "Region", "Global"]
    return [
        _metrics(
            "CloudFront cache hit rate, cacheable paths (sampled)",
            EDGE_REGION,
            [
                [CDN_NAMESPACE, "Hits", "Scope", "all", {"id": "hits", "stat": "Sum", "visible": False}],
                [CDN_NAMESPACE, "Requests", "Scope", "all", {"id": "requests", "stat": "Sum", "visible": False}],
                [{"expression": "100 * hits / requests", "label": "cacheable hit %", "id": "rate"}],
            ],
            line=("target", t.cdn_hit_rate_percent),
        ),
        _metrics(
            "CloudFront 5xx error rate",
            EDGE_REGION,
            [["AWS/CloudFront", "5xxErrorRate", *cdn, {"stat": "Average"}]],
            line=("alarm", t.cdn_5xx_percent),
        ),
    ]


def _canary_widgets(region: str, checks: Sequence[SyntheticCheck]) -> list[dict[str, Any]]:
    """Each canary's slowest URL against the seed's budget."""
    return [
        _metrics(
            f"Canary: {check.target} (slowest URL)",
            region,
            [[NAMESPACE, METRIC, DIMENSION, check.name, {"stat": "Maximum"}]],
            line=("seed target (ms)", check.budget_ms),
        )
        for check in checks
    ]


def _metrics(
    title: str, region: str, metrics: list[list[Any]], line: tuple[str, float] | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": title, "region": region, "metrics": metrics, "view": "timeSeries"}
    properties["period"] = 60
    if line:
        properties["annotations"] = {"horizontal": [{"label": line[0], "value": line[1]}]}
    return {"type": "metric", "properties": properties}
