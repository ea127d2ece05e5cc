"""`make verify STACK=<name>`: does the deployed stack meet the seed's targets right now?

Read-only (GetMetricData and DescribeAlarms) against the account of the caller's credentials,
after `pulumi up`. Reads the last hour of CloudWatch for the stack's resources, named by its
outputs (`pulumi stack output --json`, or `--outputs FILE`), and compares each figure with the
stack's own thresholds (`monitoring.alarms` in Pulumi.<stack>.yaml, defaults = the seed):

    API p95 at the ALB, ALB 5xx share, CloudFront hit rate and 5xx rate, RDS read/write
    latency per instance, the API cache's Redis hit rate, the canaries' page load, static
    asset and API times (p95) and their successful runs (the uptime target), and no alarm of
    the stack firing; and from Prometheus (through the API server's service proxy, with the
    current kubeconfig: `aws eks update-kubeconfig --name sd-<env>`), the average query time
    and the pool efficiency through PgBouncer.

Prints target / measured / pass per row. Exit 0 when every target is met, 1 when one is missed
or has no data in the window (unmeasured is not met, unless --allow-no-data), 2 when config or
outputs are missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.observability.alarm_specs import API_CACHE_ROLES, CDN_NAMESPACE, AlarmThresholds
from components.observability.synthetics import DIMENSION, METRIC, NAMESPACE, SyntheticCheck
from stacks.loader import ConfigError
from stacks.stack_file import load_stack
from tools.prometheus_api import Prometheus

EDGE_REGION = "us-east-1"
#: Stack outputs the checks need (stacks/platform.py).
REQUIRED_OUTPUTS = (
    "region",
    "albArnSuffix",
    "cdnDistributionId",
    "dbInstanceIdentifiers",
    "redisMemberClusters",
    "alarmNamePrefix",
)


@dataclass(frozen=True)
class Row:
    target: str
    measured: float | None
    unit: str
    passed: bool

    def cells(self) -> tuple[str, str, str]:
        value = "no data" if self.measured is None else f"{self.measured:.3g} {self.unit}".strip()
        return self.target, value, "pass" if self.passed else "FAIL"


def metric_query(namespace: str, metric: str, dimensions: dict[str, str], period: int, stat: str) -> dict:
    """One GetMetricData query (id `q`) of a metric's statistic per period."""
    return {
        "Id": "q",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }


class Metrics:
    """The last `hours` of CloudWatch, one aggregate per query (one period spanning the window)."""

    def __init__(self, session: Any, region: str, hours: float, now: datetime | None = None):
        self.end = (now or datetime.now(UTC)).replace(microsecond=0)
        self.start = self.end - timedelta(hours=hours)
        self.period = int(hours * 3600)
        self.clients = {r: session.client("cloudwatch", region_name=r) for r in {region, EDGE_REGION}}
        self.region = region

    def value(self, namespace: str, metric: str, dimensions: dict[str, str], stat: str, edge: bool = False):
        client = self.clients[EDGE_REGION if edge else self.region]
        query = metric_query(namespace, metric, dimensions, self.period, stat)
        result = client.get_metric_data(MetricDataQueries=[query], StartTime=self.start, EndTime=self.end)
        values = [v for r in result["MetricDataResults"] for v in r.get("Values", []) if v is not None]
        return values[0] if values else None

    def total(self, namespace: str, metric: str, key: str, ids: Sequence[str]) -> float | None:
        sums = [self.value(namespace, metric, {key: i}, "Sum") for i in ids]
        known = [s for s in sums if s is not None]
        return sum(known) if known else None

    def firing_alarms(self, prefix: str) -> list[str]:
        return sorted(
            alarm["AlarmName"]
            for client in self.clients.values()
            for page in client.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=f"{prefix}-", StateValue="ALARM"
            )
            for alarm in page["MetricAlarms"] + page.get("CompositeAlarms", [])
        )


def at_most(limit: float) -> Callable[[float], bool]:
    return lambda value: value <= limit


def at_least(limit: float) -> Callable[[float], bool]:
    return lambda value: value >= limit


def row(target: str, measured: float | None, unit: str, meets: Callable[[float], bool]) -> Row:
    return Row(target, measured, unit, measured is not None and meets(measured))


def ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else 100 * part / whole


def evaluate(outputs: dict[str, Any], t: AlarmThresholds, metrics: Metrics) -> list[Row]:
    lb = {"LoadBalancer": outputs["albArnSuffix"]}
    cdn = {"DistributionId": outputs["cdnDistributionId"], "Region": "Global"}
    alb = "AWS/ApplicationELB"
    errors = [metrics.value(alb, m, lb, "Sum") for m in ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count")]
    rows = [
        row(
            f"API p95 at the ALB <= {t.alb_p95_ms:g} ms",
            _ms(metrics.value(alb, "TargetResponseTime", lb, "p95")),
            "ms",
            at_most(t.alb_p95_ms),
        ),
        row(
            f"ALB 5xx share <= {t.alb_5xx_percent:g} %",
            ratio(sum(e or 0 for e in errors), metrics.value(alb, "RequestCount", lb, "Sum")),
            "%",
            at_most(t.alb_5xx_percent),
        ),
        row(
            f"CloudFront cacheable hit rate >= {t.cdn_hit_rate_percent:g} %",
            ratio(
                metrics.value(CDN_NAMESPACE, "Hits", {"Scope": "all"}, "Sum", edge=True),
                metrics.value(CDN_NAMESPACE, "Requests", {"Scope": "all"}, "Sum", edge=True),
            ),
            "%",
            at_least(t.cdn_hit_rate_percent),
        ),
        row(
            f"CloudFront 5xx error rate <= {t.cdn_5xx_percent:g} %",
            metrics.value("AWS/CloudFront", "5xxErrorRate", cdn, "Average", edge=True),
            "%",
            at_most(t.cdn_5xx_percent),
        ),
    ]
    for role, identifier in outputs["dbInstanceIdentifiers"].items():
        for kind in ("Read", "Write") if role == "primary" else ("Read",):
            latency = metrics.value("AWS/RDS", f"{kind}Latency", {"DBInstanceIdentifier": identifier}, "Average")
            rows.append(
                row(
                    f"RDS {role} {kind.lower()} latency <= {t.rds_latency_ms:g} ms",
                    _ms(latency),
                    "ms",
                    at_most(t.rds_latency_ms),
                )
            )
    for role, members in outputs["redisMemberClusters"].items():
        if role in API_CACHE_ROLES:
            hits = metrics.total("AWS/ElastiCache", "CacheHits", "CacheClusterId", members)
            misses = metrics.total("AWS/ElastiCache", "CacheMisses", "CacheClusterId", members)
            rows.append(
                row(
                    f"Redis {role} hit rate >= {t.cache_hit_rate_percent:g} %",
                    ratio(hits, (hits or 0) + (misses or 0)),
                    "%",
                    at_least(t.cache_hit_rate_percent),
                )
            )
    firing = metrics.firing_alarms(outputs["alarmNamePrefix"])
    rows.append(Row("no alarm firing" + (f" ({', '.join(firing)})" if firing else ""), len(firing), "", not firing))
    return rows


def canary_rows(checks: Sequence[SyntheticCheck], prefix: str, availability: float, metrics: Metrics) -> list[Row]:
    """Each canary's p95 against the seed's budget, and how many of their runs succeeded."""
    rows = [
        row(
            f"Canary {check.target} p95 <= {check.budget_ms:g} ms",
            metrics.value(NAMESPACE, METRIC, {DIMENSION: check.name}, "p95"),
            "ms",
            at_most(check.budget_ms),
        )
        for check in checks
    ]
    runs = [
        metrics.value("CloudWatchSynthetics", "SuccessPercent", {"CanaryName": f"{prefix}-{c.name}"}, "Average")
        for c in checks
    ]
    known = [r for r in runs if r is not None]
    if checks:
        rows.append(
            row(
                f"Canary runs succeeding >= {availability * 100:g} %",
                sum(known) / len(known) if known else None,
                "%",
                at_least(availability * 100),
            )
        )
    return rows


def pool_rows(query_time_s: float, pool_efficiency: float, prometheus: Prometheus | None, hours: float) -> list[Row]:
    """The worst pool's average query time and efficiency over the window (Prometheus)."""
    window = f"{max(1, round(hours * 60))}m"

    def worst(query: str) -> float | None:
        return prometheus.value(query) if prometheus else None

    query_s = worst(f"max(avg_over_time(pgbouncer:query_duration_seconds:avg_rate5m[{window}]))")
    at_max = worst(f"max(max_over_time(horizontalpodautoscaler:at_max_replicas:bool[{window}]))")
    stuck = worst(f'max(max_over_time(kube_pod_status_unschedulable{{namespace="smartdairy"}}[{window}])) or vector(0)')
    efficiency = worst(f"min(avg_over_time(pgbouncer:pool_efficiency:ratio_rate5m[{window}]))")
    return [
        row(
            f"Query time via PgBouncer <= {query_time_s * 1000:g} ms", _ms(query_s), "ms", at_most(query_time_s * 1000)
        ),
        row(
            f"Pool efficiency >= {pool_efficiency:.0%}",
            None if efficiency is None else efficiency * 100,
            "%",
            at_least(pool_efficiency * 100),
        ),
        # Doubling takes room: an HPA already at its maximum, or a pod no node takes, has none.
        row(
            "Scale-out headroom: no HPA at max, no unschedulable pod",
            None if at_max is None or stuck is None else at_max + stuck,
            "",
            at_most(0),
        ),
    ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def render(rows: Sequence[Row]) -> str:
    table = [("target", "measured", "result"), *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table)


def stack_outputs(stack: str, path: Path | None) -> dict[str, Any]:
    if path is not None:
        return json.loads(path.read_text())
    done = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main(
    argv: list[str] | None = None, session: Any = None, now: datetime | None = None, prometheus: Any = None
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name; reads Pulumi.<stack>.yaml")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON (default: `pulumi stack output --json`)")
    parser.add_argument("--hours", type=float, default=1.0, help="window to read, hours (default 1)")
    parser.add_argument(
        "--allow-no-data", action="store_true", help="report unmeasured targets without failing (a fresh stack)"
    )
    args = parser.parse_args(argv)
    try:
        config, _ = load_stack(args.stack)
        outputs = stack_outputs(args.stack, args.outputs)
    except (ConfigError, FileNotFoundError, subprocess.CalledProcessError, json.JSONDecodeError) as exc:
        print(f"error: stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        print(f"error: stack {args.stack!r} has no output {', '.join(missing)}: run `pulumi up` first", file=sys.stderr)
        return 2
    if session is None:
        import boto3

        session = boto3.Session()
    metrics = Metrics(session, outputs["region"], args.hours, now)
    rows = evaluate(outputs, config.monitoring.alarms, metrics)
    slo = config.monitoring.slo
    checks = config.synthetic_checks() if config.monitoring.canaries.enabled else []
    rows[-1:-1] = [
        *canary_rows(checks, outputs["alarmNamePrefix"], slo.availability, metrics),
        *pool_rows(slo.query_time_s, slo.pool_efficiency, prometheus or Prometheus.from_kubeconfig(), args.hours),
    ]
    print(render(rows))
    failed = [r for r in rows if not r.passed and not (args.allow_no_data and r.measured is None)]
    print(f"verify {args.stack}: {len(rows) - len(failed)}/{len(rows)} targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
