"""`make verify` against moto's CloudWatch: seeded metrics that meet every target pass; a slow
API, a cold cache or a firing alarm fails with exit 1 and says which target."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch import models as cloudwatch_models

from tools.verify import main

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
REGION = "eu-west-1"
OUTPUTS: dict[str, Any] = {
    "region": REGION,
    "albArnSuffix": "app/sd-staging-api/0123456789abcdef",
    "cdnDistributionId": "E0123456789ABC",
    "dbInstanceIdentifiers": {"primary": "sd-staging-db-primary-1a2b", "replica-1": "sd-staging-db-replica-1-3c4d"},
    "redisMemberClusters": {"shared": ["sd-staging-redis-shared-001", "sd-staging-redis-shared-002"]},
    "alarmNamePrefix": "sd-staging",
}


@pytest.fixture(autouse=True)
def percentiles(monkeypatch):
    """moto aggregates Sum/Average/Minimum/Maximum only; CloudWatch also answers `pNN` (the
    nearest-rank percentile of the period's samples), which verify asks for the ALB."""
    plain = cloudwatch_models.Statistics.get_statistics_for_type

    def with_percentiles(self, stat):
        if stat.startswith("p"):
            values = sorted(self.metric_single_values_list)
            rank = max(1, -(-float(stat[1:]) * len(values) // 100))
            return values[int(rank) - 1]
        return plain(self, stat)

    monkeypatch.setattr(cloudwatch_models.Statistics, "get_statistics_for_type", with_percentiles)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def put(session, namespace, metric, dimensions, values, region=REGION):
    """One datapoint a minute over the last 20 minutes, cycling through `values`."""
    client = session.client("cloudwatch", region_name=region)
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": NOW - timedelta(minutes=minute + 1),
            "Value": values[minute % len(values)],
        }
        for minute in range(20)
    ]
    client.put_metric_data(Namespace=namespace, MetricData=data)


CANARIES_MS = {"page-load": 1200.0, "static-asset": 40.0, "api": 150.0}


def seed(session, *, api_seconds=(0.12, 0.18, 0.25), hits=900.0, alb_5xx=1.0, canary_ms=CANARIES_MS):
    lb = {"LoadBalancer": OUTPUTS["albArnSuffix"]}
    put(session, "AWS/ApplicationELB", "TargetResponseTime", lb, list(api_seconds))
    put(session, "AWS/ApplicationELB", "RequestCount", lb, [1000.0])
    put(session, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, [alb_5xx])
    cdn = {"DistributionId": OUTPUTS["cdnDistributionId"], "Region": "Global"}
    put(session, "SmartDairy/CDN", "Requests", {"Scope": "all"}, [100.0], region="us-east-1")
    put(session, "SmartDairy/CDN", "Hits", {"Scope": "all"}, [91.0], region="us-east-1")
    put(session, "AWS/CloudFront", "5xxErrorRate", cdn, [0.1], region="us-east-1")
    for identifier in OUTPUTS["dbInstanceIdentifiers"].values():
        for kind in ("Read", "Write"):
            put(session, "AWS/RDS", f"{kind}Latency", {"DBInstanceIdentifier": identifier}, [0.004, 0.012])
    for member in OUTPUTS["redisMemberClusters"]["shared"]:
        put(session, "AWS/ElastiCache", "CacheHits", {"CacheClusterId": member}, [hits])
        put(session, "AWS/ElastiCache", "CacheMisses", {"CacheClusterId": member}, [100.0])
    for check, ms in canary_ms.items():
        put(session, "SmartDairy/Synthetics", "LatencyMs", {"Check": check}, [ms])
        put(session, "CloudWatchSynthetics", "SuccessPercent", {"CanaryName": f"sd-staging-{check}"}, [100.0])


class FakePrometheus:
    """Answers verify's two PromQL queries (the worst pool over the window), or nothing."""

    def __init__(self, query_s: float | None = 0.012, efficiency: float | None = 0.97, at_max: float | None = 0.0):
        self.answers = {
            "query_duration": query_s,
            "pool_efficiency": efficiency,
            "at_max_replicas": at_max,
            "unschedulable": None if at_max is None else 0.0,
        }
        self.queries: list[str] = []

    def value(self, query: str) -> float | None:
        self.queries.append(query)
        return next(value for key, value in self.answers.items() if key in query)


def verify(session, tmp_path, capsys, prometheus=None) -> tuple[int, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    code = main(
        ["staging", "--outputs", str(path)], session=session, now=NOW, prometheus=prometheus or FakePrometheus()
    )
    return code, capsys.readouterr().out


def table(out: str) -> dict[str, tuple[str, str]]:
    """target -> (measured, result) from the printed table."""
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()[1:] if not line.startswith("verify ")]
    return {target: (measured, result) for target, measured, result in rows}


def test_a_stack_that_meets_every_target_passes(aws, tmp_path, capsys):
    seed(aws)
    code, out = verify(aws, tmp_path, capsys)
    assert code == 0, out
    assert "16/16 targets met" in out
    rows = table(out)
    # p95 of 20 samples cycling 120/180/250 ms is 250 ms; hits 900 of 1,000 per node.
    assert rows["API p95 at the ALB <= 300 ms"] == ("250 ms", "pass")
    assert rows["Redis shared hit rate >= 80 %"] == ("90 %", "pass")
    assert rows["ALB 5xx share <= 1 %"] == ("0.1 %", "pass")
    assert rows["Canary page load p95 <= 2000 ms"] == ("1.2e+03 ms", "pass")
    assert rows["Canary runs succeeding >= 99.9 %"] == ("100 %", "pass")
    assert rows["Query time via PgBouncer <= 50 ms"] == ("12 ms", "pass")
    assert rows["Pool efficiency >= 90%"] == ("97 %", "pass")


def test_slow_pages_slow_queries_and_a_starved_pool_fail_by_name(aws, tmp_path, capsys):
    seed(aws, canary_ms=CANARIES_MS | {"static-asset": 180.0})
    prometheus = FakePrometheus(query_s=0.08, efficiency=0.85)
    code, out = verify(aws, tmp_path, capsys, prometheus)
    failed = [target for target, (_, result) in table(out).items() if result == "FAIL"]
    assert code == 1
    assert failed == [
        "Canary static asset latency p95 <= 100 ms",
        "Query time via PgBouncer <= 50 ms",
        "Pool efficiency >= 90%",
    ]
    assert all("[60m]" in query for query in prometheus.queries), "the window is the one asked for"


def test_without_prometheus_the_pool_rows_are_unmeasured_not_passed(aws, tmp_path, capsys):
    seed(aws)
    code, out = verify(aws, tmp_path, capsys, FakePrometheus(query_s=None, efficiency=None))
    assert code == 1 and table(out)["Query time via PgBouncer <= 50 ms"] == ("no data", "FAIL")


def test_a_slow_api_and_a_cold_cache_fail_by_name(aws, tmp_path, capsys):
    seed(aws, api_seconds=(0.2, 0.45, 0.5), hits=300.0)
    code, out = verify(aws, tmp_path, capsys)
    assert code == 1
    failed = [target for target, (_, result) in table(out).items() if result == "FAIL"]
    assert failed == ["API p95 at the ALB <= 300 ms", "Redis shared hit rate >= 80 %"]


def test_a_firing_alarm_fails(aws, tmp_path, capsys):
    seed(aws)
    client = aws.client("cloudwatch", region_name="us-east-1")
    client.put_metric_alarm(
        AlarmName="sd-staging-cdn-5xx",
        MetricName="5xxErrorRate",
        Namespace="AWS/CloudFront",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.set_alarm_state(AlarmName="sd-staging-cdn-5xx", StateValue="ALARM", StateReason="test")
    code, out = verify(aws, tmp_path, capsys)
    assert code == 1 and "no alarm firing (sd-staging-cdn-5xx)" in out


def test_no_data_is_not_a_pass(aws, tmp_path, capsys):
    code, out = verify(aws, tmp_path, capsys)
    assert code == 1 and "no data" in out


def test_a_fresh_stack_may_be_allowed_its_missing_data(aws, tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    assert main(["staging", "--outputs", str(path), "--allow-no-data"], session=aws, now=NOW) == 0


def test_missing_outputs_say_so(aws, tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION}))
    assert main(["staging", "--outputs", str(path)], session=aws, now=NOW) == 2
    assert "run `pulumi up` first" in capsys.readouterr().err


def test_prometheus_is_asked_through_the_api_servers_service_proxy():
    from tools.prometheus_api import Prometheus

    class Api:
        def __init__(self, value: str):
            self.value = value
            self.calls: list[tuple] = []

        def call_api(self, path, method, **kwargs):
            self.calls.append((path, method, kwargs["query_params"]))
            return {"status": "success", "data": {"result": [{"metric": {}, "value": [1764417600, self.value]}]}}

    api = Api("0.031")
    assert Prometheus(api).value("max(x)") == 0.031
    assert api.calls == [
        (
            "/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query",
            "GET",
            [("query", "max(x)")],
        )
    ]
    assert Prometheus(Api("NaN")).value("min(y)") is None, "no traffic in the window: unmeasured"


def test_a_prometheus_that_cannot_be_asked_is_unmeasured_not_a_crash(capsys):
    from kubernetes.client.exceptions import ApiException

    from tools.prometheus_api import Prometheus

    class Unreachable:
        def call_api(self, *args, **kwargs):
            raise ApiException(status=503, reason="Service Unavailable")

    assert Prometheus(Unreachable()).value("max(x)") is None
    assert "prometheus: ApiException" in capsys.readouterr().err
