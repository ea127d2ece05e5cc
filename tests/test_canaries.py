"""The seed's user-side targets as canaries: the canary's code run offline against a local HTTP
server (pages with their subresources, slow and failing URLs) and moto's CloudWatch, and what
the program registers for it (canaries on the stack's own hosts, a least-privilege role,
alarms and dashboard widgets against the seed's budgets)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws

from components.observability.canary import canary
from components.observability.synthetics import NAMESPACE
from tests.conftest import PROJECT, config_problems, section, with_section
from tests.harness.checks import nonempty

CANARY = "aws:synthetics/canary:Canary"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PAGE = b"""<html><head><link rel="stylesheet" href="/style.css"><script src="/app.js"></script>
<link rel="icon" href="/favicon.ico"></head><body><img src="img/logo.png">
<a href="/elsewhere">not fetched by a browser</a></body></html>"""


class Site(BaseHTTPRequestHandler):
    """A page and its files; /slow.css takes 150 ms; /broken.js answers 500."""

    served: list[str] = []

    def do_GET(self) -> None:
        Site.served.append(self.path)
        if self.path == "/slow.css":
            time.sleep(0.15)
        status = 500 if self.path == "/broken.js" else 404 if self.path == "/missing" else 200
        body = PAGE if self.path == "/" else b"x"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    Site.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_load_fetches_what_a_browser_would(site):
    canary.measure("page", [f"{site}/"])
    assert sorted(Site.served) == ["/", "/app.js", "/img/logo.png", "/style.css"]


def test_the_slowest_url_is_the_figure(site):
    fast = canary.measure("asset", [f"{site}/a.css"])
    slowest = canary.measure("asset", [f"{site}/a.css", f"{site}/slow.css"])
    assert fast < 150 <= slowest


def test_an_error_status_fails_the_run(site):
    with pytest.raises(canary.CheckFailed, match="HTTP 404"):
        canary.measure("api", [f"{site}/missing"])
    with pytest.raises(canary.CheckFailed, match=r"refused|Errno"):
        canary.measure("api", ["http://127.0.0.1:9/"])


def test_a_run_publishes_its_figure_where_the_alarms_look(site):
    env = {"CHECK_NAME": "api", "CHECK_KIND": "api", "CHECK_URLS": f"{site}/a,{site}/b", "METRIC_NAMESPACE": NAMESPACE}
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
        milliseconds = canary.run(env, cloudwatch)
        [metric] = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
        assert metric["MetricName"] == "LatencyMs" and metric["Dimensions"] == [{"Name": "Check", "Value": "api"}]
        stats = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="LatencyMs",
            Dimensions=metric["Dimensions"],
            StartTime=time.time() - 600,
            EndTime=time.time() + 60,
            Period=60,
            Statistics=["Maximum"],
        )
        assert [point["Maximum"] for point in stats["Datapoints"]] == [pytest.approx(milliseconds)]


def test_canaries_measure_the_stacks_own_hosts_against_the_seeds_budgets(run):
    canaries = {c.inputs["name"].removeprefix(f"sd-{run.stack}-"): c for c in run.of_type(CANARY)}
    assert set(canaries) == {"page-load", "static-asset", "api"}
    domain = section(run.stack, "cdn")["domain"]
    for name, resource in canaries.items():
        env = resource.inputs["runConfig"]["environmentVariables"]
        assert env["CHECK_NAME"] == name and env["METRIC_NAMESPACE"] == NAMESPACE
        assert all(url.startswith("https://") and domain in url for url in env["CHECK_URLS"].split(","))
        assert resource.inputs["handler"] == "canary.handler" and resource.inputs["startCanary"] is True
        assert resource.inputs["deleteLambda"] is True, "a destroy leaves no function behind"
        assert resource.inputs["runtimeVersion"].startswith("syn-python-selenium-")
    alarms = {a.inputs["name"].removeprefix(f"sd-{run.stack}-"): a.inputs for a in run.of_type(ALARM)}
    budgets = {"page-load": 2000, "static-asset": 100, "api": 300}
    for name, budget in budgets.items():
        assert alarms[f"canary-{name}"]["threshold"] == budget and alarms[f"canary-{name}"]["period"] == 300
        assert alarms[f"canary-{name}-failed"]["dimensions"] == {"CanaryName": f"sd-{run.stack}-{name}"}
        assert alarms[f"canary-{name}-failed"]["alarmActions"] == [run.outputs["alarmTopicArn"]], "failures page"
    dashboard = json.loads(next(iter(run.of_type("aws:cloudwatch/dashboard:Dashboard"))).inputs["dashboardBody"])
    lines = [
        w["properties"].get("annotations") for w in dashboard["widgets"] if "Canary" in w["properties"].get("title", "")
    ]
    assert [line["horizontal"][0]["value"] for line in lines] == list(budgets.values())


def test_the_canary_code_ships_whole_and_its_role_writes_only_its_own(run):
    [code] = [o for o in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"] == "code/canary.zip"]
    assert set(code.inputs["source"]["assets"]) == {"python/canary.py"}
    [policy] = [
        json.loads(p.inputs["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if "canaries" in p.name
    ]
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == sorted(
        [
            "s3:PutObject",
            "s3:GetObject",
            "s3:GetBucketLocation",
            "s3:ListAllMyBuckets",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "cloudwatch:PutMetricData",
        ]
    )
    for statement in nonempty(policy["Statement"]):
        if statement["Action"] == ["cloudwatch:PutMetricData"]:
            assert statement["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": ["CloudWatchSynthetics", NAMESPACE]}
            }
        elif statement["Resource"] != "*":
            assert all(f"sd-{run.stack}" in str(r) or "artifacts" in str(r) for r in statement["Resource"])


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("pages", "https://evil.example.org/"),
        ("apiCalls", "http://staging.smartdairy.com/api"),
        ("staticAssets", "ftp://x"),
    ],
)
def test_a_canary_url_off_the_stacks_hosts_is_one_line_naming_the_key(key, url):
    monitoring = section("staging", "monitoring") | {"canaries": {key: [url]}}
    [problem] = config_problems(with_section("staging", f"{PROJECT}:monitoring", monitoring))
    expected = f"{PROJECT}:monitoring.canaries.{key}[0]: {url} is not https:// on one of the stack's hosts"
    assert problem.startswith(expected)


def test_the_runs_expire_and_the_code_beside_them_stays(run):
    [lifecycle] = [
        c
        for c in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if "canaries" in c.name
    ]
    expiring = [r for r in lifecycle.inputs["rules"] if "expiration" in r]
    assert [(r["filter"]["prefix"], r["expiration"]["days"]) for r in expiring] == [("runs/", 14)]
