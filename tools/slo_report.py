"""`make slo-report STACK=<name> MONTH=YYYY-MM`: the month's seed targets, as Markdown with plots.

Reads CloudWatch (availability and p95 at the ALB, the API cache's hit rate, the canaries) and
Prometheus through the API server's service proxy (query time and pool efficiency through
PgBouncer, HPA scale-outs, Karpenter's node launches), per day of the month, and writes
build/<stack>/slo/<month>/report.md with one plot per target. Availability is the requests the
ALB answered without a 5xx, against the stack's objective (`monitoring.slo.availability`); the
error budget left is what the month may still lose.

`--gate` (the prod deploy, before `up`): exit 1 when the month's error budget is spent, unless
`--override-reason` says why this deploy goes anyway (printed, so the run's summary records it).
It needs no stack outputs: the ALB is found by its name (`<prefix>-api`).

Exit 2 on bad input (a month that is not YYYY-MM, an unknown stack), with one line naming it.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.observability.alarm_specs import API_CACHE_ROLES  # noqa: E402
from components.observability.synthetics import DIMENSION, METRIC, NAMESPACE  # noqa: E402
from stacks.loader import ConfigError  # noqa: E402
from stacks.stack_file import load_stack  # noqa: E402
from tools.prometheus_api import Prometheus  # noqa: E402
from tools.verify import metric_query, stack_outputs  # noqa: E402

DAY_S = 86400
Daily = dict[date, float]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's (UTC)."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as error:
        raise ValueError(f"MONTH: {month!r} is not YYYY-MM") from error
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days)


class CloudWatchDays:
    """One value per day of the window, per metric (GetMetricData, period one day)."""

    def __init__(self, session: Any, region: str, start: datetime, end: datetime):
        self.client = session.client("cloudwatch", region_name=region)
        self.start, self.end = start, end

    def daily(self, namespace: str, metric: str, dimensions: dict[str, str], stat: str) -> Daily:
        query = metric_query(namespace, metric, dimensions, DAY_S, stat)
        found: Daily = {}
        pages = self.client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=[query], StartTime=self.start, EndTime=self.end
        )
        for page in pages:
            for result in page["MetricDataResults"]:
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    found[stamp.astimezone(UTC).date()] = value
        return found


@dataclass(frozen=True)
class Availability:
    requests: float
    errors: float
    objective: float

    @property
    def ratio(self) -> float | None:
        return None if not self.requests else 1 - self.errors / self.requests

    @property
    def budget_left(self) -> float | None:
        """Share of the month's error budget still unspent (negative: overspent)."""
        ratio = self.ratio
        return None if ratio is None else 1 - (1 - ratio) / (1 - self.objective)


def availability(days: CloudWatchDays, load_balancer: str, objective: float) -> tuple[Availability, Daily]:
    """The month's availability at the ALB, and each day's."""
    lb = {"LoadBalancer": load_balancer}
    requests = days.daily("AWS/ApplicationELB", "RequestCount", lb, "Sum")
    errors: Daily = {}
    for metric in ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"):
        for day, value in days.daily("AWS/ApplicationELB", metric, lb, "Sum").items():
            errors[day] = errors.get(day, 0) + value
    per_day = {day: 100 * (1 - errors.get(day, 0) / total) for day, total in requests.items() if total}
    return Availability(sum(requests.values()), sum(errors.values()), objective), per_day


@dataclass(frozen=True)
class Section:
    """One target of the report: its line, and the daily series (label -> day -> value) plotted."""

    title: str
    line: str
    series: dict[str, Daily]
    unit: str
    target: float | None


def sections(config: Any, outputs: dict[str, Any], days: CloudWatchDays, prometheus: Any) -> list[Section]:
    slo, alarms = config.monitoring.slo, config.monitoring.alarms
    lb = {"LoadBalancer": outputs["albArnSuffix"]}
    month, per_day = availability(days, outputs["albArnSuffix"], slo.availability)
    found = [
        Section(
            "Availability",
            _availability_line(month),
            {"ALB": per_day},
            "%",
            slo.availability * 100,
        ),
        _section(
            "API p95",
            {
                "ALB": {
                    d: v * 1000 for d, v in days.daily("AWS/ApplicationELB", "TargetResponseTime", lb, "p95").items()
                }
            },
            "ms",
            alarms.alb_p95_ms,
            worst=max,
        ),
    ]
    for role, members in outputs["redisMemberClusters"].items():
        if role in API_CACHE_ROLES:
            found.append(
                _section(
                    f"Redis {role} hit rate", _hit_rates(days, members), "%", alarms.cache_hit_rate_percent, worst=min
                )
            )
    checks = config.synthetic_checks() if config.monitoring.canaries.enabled else []
    for check in checks:
        series = days.daily(NAMESPACE, METRIC, {DIMENSION: check.name}, "p95")
        found.append(_section(f"Canary: {check.target} p95", {check.name: series}, "ms", check.budget_ms, worst=max))
    found += _prometheus_sections(slo, days.start, days.end, prometheus)
    return found


def _prometheus_sections(slo: Any, start: datetime, end: datetime, prometheus: Any) -> list[Section]:
    def daily(query: str) -> dict[str, Daily]:
        return prometheus.daily(query, start, end) if prometheus else {}

    query_ms = {
        k: {d: v * 1000 for d, v in s.items()}
        for k, s in daily("avg_over_time(pgbouncer:query_duration_seconds:avg_rate5m[1d])").items()
    }
    efficiency = {
        k: {d: v * 100 for d, v in s.items()}
        for k, s in daily("avg_over_time(pgbouncer:pool_efficiency:ratio_rate5m[1d])").items()
    }
    doubling = daily(
        "max_over_time(kube_horizontalpodautoscaler_status_current_replicas[1d])"
        " / min_over_time(kube_horizontalpodautoscaler_status_current_replicas[1d])"
    )
    launches = daily("sum(increase(karpenter_nodeclaims_created_total[1d]))")
    load = daily("max(max_over_time(k6_vus[1d]))")
    scale_days = sorted({day for series in doubling.values() for day, factor in series.items() if factor >= 2})
    nodes = sum(v for series in launches.values() for v in series.values())
    scale_line = (
        f"{len(scale_days)} day(s) with an HPA at twice its low or more ({', '.join(map(str, scale_days)) or 'none'}); "
        f"{nodes:.0f} nodes launched by Karpenter"
        if prometheus
        else "no data (no Prometheus: connect to the cluster first)"
    )
    return [
        _section("Query time through PgBouncer", query_ms, "ms", slo.query_time_s * 1000, worst=max),
        _section("Pool efficiency", efficiency, "%", slo.pool_efficiency * 100, worst=min),
        Section("Scale-outs (2x)", scale_line, doubling, "x", 2.0),
        _load_test_section(load, bool(prometheus)),
    ]


def _load_test_section(load: dict[str, Daily], asked: bool) -> Section:
    """The seed's 10,000 users are shown by the k6 load test (its runners push to Prometheus)."""
    peaks = [(value, day) for series in load.values() for day, value in series.items()]
    if not asked:
        line = "no data (no Prometheus: connect to the cluster first)"
    elif not peaks:
        line = "no load test this month (the load test workflow runs one)"
    else:
        value, day = max(peaks)
        line = f"peak {value:.0f} virtual users on {day} (target: 10,000; thresholds in the run's summary)"
    return Section("Load test (k6)", line, load, "users", 10000.0)


def _section(title: str, series: dict[str, Daily], unit: str, target: float, worst: Any) -> Section:
    values = [v for s in series.values() for v in s.values()]
    if not values:
        return Section(title, "no data", series, unit, target)
    figure = worst(values)
    met = figure <= target if worst is max else figure >= target
    line = f"worst day {figure:.3g} {unit} against {target:g} {unit}: {'met' if met else 'MISSED'}"
    return Section(title, line, series, unit, target)


def _hit_rates(days: CloudWatchDays, members: Sequence[str]) -> dict[str, Daily]:
    hits: Daily = {}
    misses: Daily = {}
    for member in members:
        for total, metric in ((hits, "CacheHits"), (misses, "CacheMisses")):
            for day, value in days.daily("AWS/ElastiCache", metric, {"CacheClusterId": member}, "Sum").items():
                total[day] = total.get(day, 0) + value
    return {"group": {d: 100 * h / (h + misses.get(d, 0)) for d, h in hits.items() if h + misses.get(d, 0)}}


def _availability_line(month: Availability) -> str:
    if month.ratio is None:
        return "no data"
    left = month.budget_left or 0
    return (
        f"{month.ratio:.4%} against {month.objective:.1%}; error budget left {left:.0%} "
        f"({month.errors:.0f} of {month.requests:.0f} requests failed)"
    )


def render(stack: str, month: str, found: Sequence[Section], plots: dict[str, str]) -> str:
    lines = [f"# SLO report: {stack}, {month}", "", "| target | month |", "| --- | --- |"]
    lines += [f"| {s.title} | {s.line} |" for s in found]
    lines.append("")
    for s in found:
        if s.title in plots:
            lines += [f"## {s.title}", "", f"![{s.title}]({plots[s.title]})", ""]
    return "\n".join(lines)


def plot(found: Sequence[Section], directory: Path) -> dict[str, str]:
    """One PNG per section with data: its daily series and the target line."""
    import matplotlib
    import matplotlib.dates

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = {}
    for index, s in enumerate(found):
        if not any(s.series.values()):
            continue
        figure, axes = plt.subplots(figsize=(7, 3))
        for label, series in s.series.items():
            ordered = sorted(series.items())
            days = [float(matplotlib.dates.date2num(d)) for d, _ in ordered]
            axes.plot(days, [v for _, v in ordered], marker="o", label=label)
        axes.xaxis_date()
        if s.target is not None:
            axes.axhline(s.target, color="red", linestyle="--", label="target")
        axes.set_title(s.title)
        axes.set_ylabel(s.unit)
        axes.legend(fontsize="small")
        figure.autofmt_xdate()
        name = f"{index:02d}.png"
        figure.savefig(directory / name, dpi=80)
        plt.close(figure)
        written[s.title] = name
    return written


def gate(config: Any, session: Any, month: str, reason: str | None) -> int:
    """Refuse a deploy when the month's error budget is spent, unless a reason is given."""
    start, end = month_bounds(month)
    name = f"sd-{config.environment}-api"
    elb = session.client("elbv2", region_name=config.region)
    try:
        arn = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]["LoadBalancerArn"]
    except elb.exceptions.LoadBalancerNotFoundException:
        print(f"no load balancer {name} yet (a first deploy): no budget to spend")
        return 0
    suffix = arn.split(":loadbalancer/", 1)[1]
    days = CloudWatchDays(session, config.region, start, min(end, datetime.now(UTC)))
    month_figure, _ = availability(days, suffix, config.monitoring.slo.availability)
    print(f"error budget of {month}: {_availability_line(month_figure)}")
    if month_figure.budget_left is None or month_figure.budget_left > 0:
        return 0
    if reason:
        print(f"deploying with the budget spent; override recorded: {reason}")
        return 0
    print("the month's error budget is spent: only reliability fixes ship (rerun with a recorded reason)")
    return 1


def main(argv: list[str] | None = None, session: Any = None, prometheus: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--month", default=datetime.now(UTC).strftime("%Y-%m"), help="YYYY-MM (default: this month)")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON (default: `pulumi stack output --json`)")
    parser.add_argument("--gate", action="store_true", help="only check the month's error budget (deploys)")
    parser.add_argument("--override-reason", default="", help="with --gate: why this deploy goes anyway")
    args = parser.parse_args(argv)
    try:
        start, end = month_bounds(args.month)
        config, _ = load_stack(args.stack)
    except (ValueError, ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if session is None:
        import boto3

        session = boto3.Session()
    if args.gate:
        return gate(config, session, args.month, args.override_reason.strip() or None)
    outputs = stack_outputs(args.stack, args.outputs)
    days = CloudWatchDays(session, outputs["region"], start, end)
    found = sections(config, outputs, days, prometheus or Prometheus.from_kubeconfig())
    directory = ROOT / "build" / args.stack / "slo" / args.month
    directory.mkdir(parents=True, exist_ok=True)
    report = render(args.stack, args.month, found, plot(found, directory))
    (directory / "report.md").write_text(report)
    (directory / "report.json").write_text(json.dumps({s.title: s.line for s in found}, indent=2))
    print(report.split("\n\n## ")[0])
    print(f"wrote {directory / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
