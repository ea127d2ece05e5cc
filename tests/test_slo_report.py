"""`make slo-report` against moto's CloudWatch and fixture Prometheus series: the month's
availability and error budget, each target's worst day, plots; and the prod deploy's gate,
which refuses a spent budget unless a reason is recorded."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from tests.test_verify import OUTPUTS, REGION, percentiles  # noqa: F401 (moto answers pNN with it)
from tools import slo_report

MONTH = "2026-10"
DAYS = [datetime(2026, 10, day, 12, tzinfo=UTC) for day in (3, 4, 5)]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def put(session, namespace, metric, dimensions, values):
    """One datapoint on each of DAYS."""
    session.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": day,
                "Value": value,
            }
            for day, value in zip(DAYS, values, strict=True)
        ],
    )


def seed(session, load_balancer: str, errors=(1.0, 2.0, 3.0)):
    lb = {"LoadBalancer": load_balancer}
    put(session, "AWS/ApplicationELB", "RequestCount", lb, [10000.0] * 3)
    put(session, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, list(errors))
    put(session, "AWS/ApplicationELB", "TargetResponseTime", lb, [0.12, 0.35, 0.2])
    for member in OUTPUTS["redisMemberClusters"]["shared"]:
        put(session, "AWS/ElastiCache", "CacheHits", {"CacheClusterId": member}, [900.0] * 3)
        put(session, "AWS/ElastiCache", "CacheMisses", {"CacheClusterId": member}, [100.0] * 3)
    put(session, "SmartDairy/Synthetics", "LatencyMs", {"Check": "static-asset"}, [40.0, 60.0, 90.0])


class FakePrometheus:
    def daily(self, query, start, end):
        day = date(2026, 10, 4)
        if "query_duration" in query:
            return {"database=odoo": {day: 0.03}}
        if "pool_efficiency" in query:
            return {"database=odoo": {day: 0.95}}
        if "horizontalpodautoscaler" in query:
            return {"horizontalpodautoscaler=odoo-web": {day: 2.5, date(2026, 10, 5): 1.2}}
        if "k6_vus" in query:
            return {"all": {day: 10000.0}}
        return {"all": {day: 7.0}}


def test_the_month_report_states_every_target_with_plots(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(slo_report, "ROOT", tmp_path)
    seed(aws, OUTPUTS["albArnSuffix"])
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    argv = ["staging", "--month", MONTH, "--outputs", str(outputs)]
    assert slo_report.main(argv, session=aws, prometheus=FakePrometheus()) == 0
    directory = tmp_path / "build" / "staging" / "slo" / MONTH
    lines = json.loads((directory / "report.json").read_text())
    # 6 of 30,000 requests failed: 99.98 %; the budget (0.1 % = 30) is 80 % unspent.
    assert lines["Availability"] == "99.9800% against 99.9%; error budget left 80% (6 of 30000 requests failed)"
    assert lines["API p95"] == "worst day 350 ms against 300 ms: MISSED"
    assert lines["Redis shared hit rate"] == "worst day 90 % against 80 %: met"
    assert lines["Canary: static asset latency p95"] == "worst day 90 ms against 100 ms: met"
    assert lines["Canary: page load p95"] == "no data"
    assert lines["Query time through PgBouncer"] == "worst day 30 ms against 50 ms: met"
    assert lines["Pool efficiency"] == "worst day 95 % against 90 %: met"
    assert lines["Scale-outs (2x)"].startswith("1 day(s) with an HPA at twice its low or more (2026-10-04); 7 nodes")
    assert lines["Load test (k6)"].startswith("peak 10000 virtual users on 2026-10-04")
    report = (directory / "report.md").read_text()
    plots = [line for line in report.splitlines() if line.startswith("![")]
    assert len(plots) == 8 and all((directory / p.rsplit("](", 1)[1].rstrip(")")).stat().st_size > 1000 for p in plots)


def load_balancer(session, name: str) -> str:
    ec2 = session.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    arn = session.client("elbv2", region_name=REGION).create_load_balancer(Name=name, Subnets=subnets)
    return arn["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1]


@pytest.fixture
def october(monkeypatch):
    """The gate reads the month up to now: make now the end of the seeded days."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 10, 6, tzinfo=UTC)

    monkeypatch.setattr(slo_report, "datetime", Clock)


def test_the_gate_refuses_a_spent_budget_unless_a_reason_is_recorded(aws, october, capsys):
    suffix = load_balancer(aws, "sd-prod-api")
    seed(aws, suffix, errors=(20.0, 20.0, 20.0))  # 60 of 30,000: twice the 0.1 % budget
    assert slo_report.main(["prod", "--month", MONTH, "--gate"], session=aws) == 1
    assert "error budget left -100%" in capsys.readouterr().out
    argv = ["prod", "--month", MONTH, "--gate", "--override-reason", "hotfix for INC-42"]
    assert slo_report.main(argv, session=aws) == 0
    assert "override recorded: hotfix for INC-42" in capsys.readouterr().out


def test_the_gate_lets_a_healthy_month_through(aws, october):
    seed(aws, load_balancer(aws, "sd-prod-api"))
    assert slo_report.main(["prod", "--month", MONTH, "--gate"], session=aws) == 0


def test_a_bad_month_is_one_line(capsys):
    assert slo_report.main(["prod", "--month", "2026-13"]) == 2
    assert capsys.readouterr().err.strip() == "error: MONTH: '2026-13' is not YYYY-MM"


def test_a_first_deploy_has_no_budget_to_gate(aws, october, capsys):
    assert slo_report.main(["prod", "--month", MONTH, "--gate"], session=aws) == 0
    assert "no load balancer sd-prod-api yet" in capsys.readouterr().out
