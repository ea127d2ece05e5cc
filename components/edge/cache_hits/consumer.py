"""Counts CloudFront's cache results on the cacheable behaviours, from a sample of real-time log
records (Kinesis), and publishes them as `SmartDairy/CDN Requests` and `Hits`: per host and
behaviour, and over everything (`Scope=all`), which the hit-rate alarm divides.

A record is one request's fields, tab-separated, always in the order of CloudFront's list of
real-time log fields (not the config's order): FIELDS is in that order (timestamp is field 1,
x-host-header 13, x-edge-result-type 26, cache-behavior-path-pattern 38). Hit, RefreshHit and
OriginShieldHit were served without the origin; Miss went to it; the other results (Error,
Redirect, LimitExceeded, CapacityExceeded) were not a cache decision and are not counted.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from typing import Any

#: The fields the real-time log config sends, in CloudFront's delivery order.
FIELDS = ("timestamp", "x-host-header", "x-edge-result-type", "cache-behavior-path-pattern")
HITS = frozenset({"Hit", "RefreshHit", "OriginShieldHit"})
COUNTED = HITS | {"Miss"}


def tally(lines: list[str]) -> tuple[Counter, Counter]:
    """(requests, hits) per (host, behaviour)."""
    requests: Counter = Counter()
    hits: Counter = Counter()
    for line in lines:
        values = line.rstrip("\n").split("\t")
        if len(values) != len(FIELDS):
            continue
        record = dict(zip(FIELDS, values, strict=True))
        result = record["x-edge-result-type"]
        if result not in COUNTED:
            continue
        key = (record["x-host-header"], record["cache-behavior-path-pattern"])
        requests[key] += 1
        hits[key] += result in HITS
    return requests, hits


def metric_data(requests: Counter, hits: Counter) -> list[dict]:
    """Requests and Hits per (host, behaviour) and in all (`Scope=all`)."""
    data = []
    for (host, behaviour), count in sorted(requests.items()):
        dimensions = [{"Name": "Host", "Value": host}, {"Name": "Behavior", "Value": behaviour}]
        data += [
            {"MetricName": "Requests", "Dimensions": dimensions, "Value": count, "Unit": "Count"},
            {"MetricName": "Hits", "Dimensions": dimensions, "Value": hits[(host, behaviour)], "Unit": "Count"},
        ]
    if requests:
        scope = [{"Name": "Scope", "Value": "all"}]
        data += [
            {"MetricName": "Requests", "Dimensions": scope, "Value": sum(requests.values()), "Unit": "Count"},
            {"MetricName": "Hits", "Dimensions": scope, "Value": sum(hits.values()), "Unit": "Count"},
        ]
    return data


def publish(cloudwatch: Any, namespace: str, data: list[dict]) -> None:
    for start in range(0, len(data), 500):  # PutMetricData's most per call
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])


def handler(event: dict, context: Any) -> dict:
    """The Kinesis event source's entry point."""
    import boto3

    lines = [base64.b64decode(r["kinesis"]["data"]).decode("utf-8", errors="replace") for r in event["Records"]]
    data = metric_data(*tally(lines))
    publish(boto3.client("cloudwatch"), os.environ["METRIC_NAMESPACE"], data)
    return {"records": len(lines), "datapoints": len(data)}
