"""The cacheable paths' hit rate: the consumer counts sampled real-time log records (run here
against moto's CloudWatch), and only the cacheable behaviours of both distributions send records,
so the API's and Odoo's never-cached calls cannot drag the seed's 80 % target down."""

from __future__ import annotations

import base64
import json

import boto3
from moto import mock_aws

from components.edge.cache_hits import consumer

ODOO, PORTAL = "erp.smartdairy.com", "smartdairy.com"
#: As CloudFront delivers them: timestamp, x-host-header, x-edge-result-type,
#: cache-behavior-path-pattern (its field list's order, whatever the config's order).
RECORDS = [
    f"1764417600.123\t{ODOO}\tHit\t/web/assets/*",
    f"1764417600.456\t{ODOO}\tRefreshHit\t/web/assets/*",
    f"1764417600.567\t{ODOO}\tOriginShieldHit\t/web/assets/*",
    f"1764417600.789\t{ODOO}\tMiss\t/web/assets/*",
    f"1764417601.000\t{PORTAL}\tHit\t*\n",
    f"1764417601.100\t{PORTAL}\tError\t*",  # not a cache decision
    f"1764417601.200\t{PORTAL}\tRedirect\t*",
    "malformed line",
]


def test_hits_and_misses_are_counted_per_behaviour_and_the_rest_left_out():
    requests, hits = consumer.tally(RECORDS)
    assert requests == {(ODOO, "/web/assets/*"): 4, (PORTAL, "*"): 1}
    assert hits == {(ODOO, "/web/assets/*"): 3, (PORTAL, "*"): 1}


def test_the_fields_are_in_cloudfronts_delivery_order():
    """Records come in the order of CloudFront's field list, not the config's: sending them in
    that order keeps the two the same."""
    delivery_order = {"timestamp": 1, "x-host-header": 13, "x-edge-result-type": 26, "cache-behavior-path-pattern": 38}
    assert list(consumer.FIELDS) == sorted(consumer.FIELDS, key=delivery_order.__getitem__)


def test_the_handler_publishes_what_the_alarm_divides(monkeypatch):
    monkeypatch.setenv("METRIC_NAMESPACE", "SmartDairy/CDN")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    event = {"Records": [{"kinesis": {"data": base64.b64encode(r.encode()).decode()}} for r in RECORDS]}
    with mock_aws():
        assert consumer.handler(event, None) == {"records": 8, "datapoints": 6}
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        totals = {}
        for name in ("Requests", "Hits"):
            stats = cloudwatch.get_metric_statistics(
                Namespace="SmartDairy/CDN",
                MetricName=name,
                Dimensions=[{"Name": "Scope", "Value": "all"}],
                StartTime="2020-01-01T00:00:00Z",
                EndTime="2100-01-01T00:00:00Z",
                Period=86400 * 365,
                Statistics=["Sum"],
            )
            totals[name] = sum(p["Sum"] for p in stats["Datapoints"])
    assert totals == {"Requests": 5, "Hits": 4}


def behaviours(run, comment: str) -> tuple[dict, list[dict]]:
    [distribution] = [
        d for d in run.of_type("aws:cloudfront/distribution:Distribution") if d.inputs["comment"] == comment
    ]
    return distribution.inputs["defaultCacheBehavior"], distribution.inputs["orderedCacheBehaviors"]


def test_only_the_cacheable_behaviours_send_their_records(run):
    [config] = run.of_type("aws:cloudfront/realtimeLogConfig:RealtimeLogConfig")
    assert config.inputs["fields"] == list(consumer.FIELDS) and config.inputs["samplingRate"] == 5
    arn = config.state["arn"]
    portal_default, portal = behaviours(run, "Smart Dairy CDN")
    odoo_default, odoo = behaviours(run, "Smart Dairy Odoo")
    assert portal_default["realtimeLogConfigArn"] == arn, "the portal's S3 files are cached"
    assert "realtimeLogConfigArn" not in odoo_default, "Odoo's backend calls are never cached"
    for behaviour in portal + odoo:
        cached = not behaviour["pathPattern"].startswith("/api")
        assert (behaviour.get("realtimeLogConfigArn") == arn) is cached, behaviour["pathPattern"]


def test_cloudfront_may_only_write_the_stream_and_the_function_only_read_it(run):
    policies = {
        p.name: p.inputs["policy"] for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if "cache-hits" in p.name
    }
    writer = json.loads(policies[f"sd-{run.stack}-cache-hits-writer"])["Statement"]
    [stream] = run.of_type("aws:kinesis/stream:Stream")
    assert writer[0]["Resource"] == [stream.state["arn"]]
    assert sorted(writer[0]["Action"]) == [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:PutRecord",
        "kinesis:PutRecords",
    ]
    reader = json.loads(policies[f"sd-{run.stack}-cache-hits-function"])["Statement"]
    actions = {a for s in reader for a in s["Action"]}
    assert not {a for a in actions if a.startswith("kinesis:Put")}
    [metric] = [s for s in reader if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SmartDairy/CDN"}}
    assert stream.inputs["encryptionType"] == "KMS"
