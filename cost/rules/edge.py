"""CloudFront, its real-time logs and their stream, WAF and the Lambda functions."""

from __future__ import annotations

from collections.abc import Mapping

from ..charges import Charge, Context, hours, rule, truthy
from ..inventory import at, number
from ..load import Point
from ..usage import SECONDS_PER_MONTH


@rule("aws:cloudfront/distribution:Distribution")
def distribution(r: Mapping, ctx: Context) -> list[Charge]:
    """The month's requests and transfer out (first-tier prices: an upper bound), split between
    the stack's distributions in equal parts."""
    share = 1 / len(ctx.of_type(r["type"]))
    return [
        Charge("HTTPS requests", "cloudfront/https-10k-requests", lambda p: ctx.traffic(p).cdn_requests * share / 1e4),
        Charge("data transfer out", "cloudfront/transfer-out-gb", lambda p: ctx.traffic(p).cdn_gb * share),
    ]


@rule("aws:cloudfront/monitoringSubscription:MonitoringSubscription")
def monitoring_subscription(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("8 additional distribution metrics", "cloudwatch/metric-month", 8)]


@rule("aws:cloudfront/realtimeLogConfig:RealtimeLogConfig")
def realtime_logs(r: Mapping, ctx: Context) -> list[Charge]:
    rate = number(r["inputs"].get("samplingRate"), 100.0) / 100
    return [
        Charge(
            f"log lines ({rate:.0%} of requests)",
            "cloudfront/realtime-log-1m-lines",
            lambda p: sampled(ctx, p, rate) / 1e6,
        )
    ]


def sampled(ctx: Context, p: Point, rate: float) -> float:
    return ctx.traffic(p).cdn_requests * rate


def sampling_rate(ctx: Context) -> float:
    configs = ctx.of_type("aws:cloudfront/realtimeLogConfig:RealtimeLogConfig")
    return sum(number(c["inputs"].get("samplingRate"), 100.0) for c in configs) / 100


@rule("aws:kinesis/stream:Stream")
def stream(r: Mapping, ctx: Context) -> list[Charge]:
    """Provisioned shards, and one PUT payload unit per real-time log record (each under 25 KB)."""
    shards = number(r["inputs"].get("shardCount"), 1.0)
    rate = sampling_rate(ctx)
    return [
        Charge(f"{shards:g} shard(s)", "kinesis/shard-hour", hours(shards)),
        Charge("PUT payload units", "kinesis/put-1m-units", lambda p: sampled(ctx, p, rate) / 1e6),
    ]


@rule("aws:wafv2/webAcl:WebAcl")
def web_acl(r: Mapping, ctx: Context) -> list[Charge]:
    """The ACL, its rules, and the requests it inspects: CloudFront's or the ALB's."""
    rules = len(r["inputs"].get("rules") or [])
    edge = r["inputs"].get("scope") == "CLOUDFRONT"
    return [
        Charge("web ACL", "waf/web-acl-month", 1),
        Charge(f"{rules} rules", "waf/rule-month", rules),
        Charge("requests inspected", "waf/1m-requests", lambda p: acl_requests(ctx, p, edge) / 1e6),
    ]


def acl_requests(ctx: Context, p: Point, edge: bool) -> float:
    t = ctx.traffic(p)
    return t.cdn_requests if edge else t.alb_requests


@rule("aws:lambda/function:Function")
def function(r: Mapping, ctx: Context) -> list[Charge]:
    """Lambda@Edge (published, on the edge provider) runs on every S3 origin response (asset
    misses); the real-time log consumer once per second at most (one shard's batches); the rest
    rarely."""
    inputs, u = r["inputs"], ctx.usage
    memory_gb = number(inputs.get("memorySize"), 128.0) / 1024
    edge = truthy(inputs.get("publish")) and "aws-edge" in r.get("provider", "")
    consumer = bool(ctx.of_type("aws:kinesis/stream:Stream")) and "METRIC_NAMESPACE" in (
        at(inputs, "environment", "variables") or {}
    )

    def invocations(p: Point) -> float:
        if edge:
            return ctx.traffic(p).asset_requests * u.asset_miss_share
        if consumer:
            return min(sampled(ctx, p, sampling_rate(ctx)), SECONDS_PER_MONTH)
        return u.rare_function_invocations

    family = "lambda-edge" if edge else "lambda"
    duration = u.edge_function_duration_s if edge else u.function_duration_s
    charges = [
        Charge("invocations", f"{family}/1m-requests", lambda p: invocations(p) / 1e6),
        Charge(
            f"{memory_gb * 1024:g} MB x {duration:g} s",
            f"{family}/gb-second",
            lambda p: invocations(p) * memory_gb * duration,
        ),
    ]
    if consumer:
        charges.append(Charge("custom metrics it publishes (Hits, Requests)", "cloudwatch/metric-month", 2))
    return charges
