"""The observability loop as registered: CloudWatch alarms on the seed's targets in the right
region, notifying a KMS-encrypted topic CloudWatch can actually use; Alertmanager routing
critical alerts there (checked by amtool); Grafana with a generated admin password and the
least CloudWatch access its dashboards need."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from components.observability.access_policies import GRAFANA_CLOUDWATCH, GRAFANA_UPSTREAM
from components.observability.alarm_specs import AlarmThresholds
from components.observability.alert_routing import alertmanager_config
from stacks.schema.observability import SloConfig
from synth.mock_runtime import ProgramRun, RegisteredResource, run_program
from tests.conftest import PROJECT, ROOT, program_run, section, section_problems, with_section
from tests.harness.checks import nonempty
from tests.harness.debian_tools import run_tool
from tests.test_deploy_readiness import waits_for
from tests.test_upstream_iam import effective_permissions

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SEED_TARGETS = ROOT / "tests" / "fixtures" / "seed" / "performance_targets.md"


def seed_target(metric: str) -> float:
    """The number in the Target column of the seed's row (`<300ms` -> 300, `99.9%` -> 99.9)."""
    for line in SEED_TARGETS.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == metric:
            return float(re.sub(r"[^\d.]", "", cells[2]))
    raise KeyError(metric)


def test_thresholds_default_to_the_seeds_targets():
    slo, alarms = SloConfig.model_validate({}), AlarmThresholds.model_validate({})
    assert slo.latency_p95_s * 1000 == seed_target("API Response (P95)") == alarms.alb_p95_ms
    assert slo.availability * 100 == seed_target("Uptime SLA")
    assert alarms.rds_latency_ms == seed_target("Database Query (Avg)")
    assert alarms.cache_hit_rate_percent == seed_target("Cache Hit Rate")


def alarms_of(run: ProgramRun) -> dict[str, RegisteredResource]:
    return {r.inputs["name"].removeprefix(f"sd-{run.stack}-"): r for r in run.of_type(ALARM)}


def region_of(run: ProgramRun, resource: RegisteredResource) -> str:
    provider = run.provider_of(resource)
    assert provider is not None, resource.urn
    return provider.inputs["region"]


def test_every_alarm_notifies_a_topic_of_its_own_region(run):
    topics = {t.state["arn"]: region_of(run, t) for t in run.of_type(TOPIC)}
    for name, alarm in nonempty(alarms_of(run).items()):
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"]
        [topic] = alarm.inputs["alarmActions"]
        assert topics[topic] == region_of(run, alarm), name


def test_cloudfront_alarms_live_in_us_east_1_with_the_global_dimension(run):
    errors, hits = alarms_of(run)["cdn-5xx"], alarms_of(run)["cdn-hit-rate"]
    assert region_of(run, errors) == region_of(run, hits) == "us-east-1"
    assert errors.inputs["dimensions"]["Region"] == "Global"
    assert errors.inputs["dimensions"]["DistributionId"].startswith("sd-")
    # The hit rate is the cacheable paths' sampled counts, never CloudFront's all-request rate.
    inputs = {q["id"]: q["metric"] for q in hits.inputs["metricQueries"] if "metric" in q}
    assert {(m["namespace"], m["metricName"], m["dimensions"]["Scope"]) for m in inputs.values()} == {
        ("SmartDairy/CDN", "Hits", "all"),
        ("SmartDairy/CDN", "Requests", "all"),
    }


def test_prod_alarms_cover_every_instance_group_and_nat(prod):
    alarms = alarms_of(prod)
    replicas = json.loads(prod.config[f"{PROJECT}:database"])["replicas"]
    for role in ["primary", *(f"replica-{i + 1}" for i in range(replicas))]:
        assert {f"rds-{role}-{kind}" for kind in ("cpu", "memory", "connections", "storage")} <= set(alarms)
    assert {f"rds-replica-{i + 1}-lag" for i in range(replicas)} <= set(alarms)
    assert "rds-primary-lag" not in alarms
    # Split layout: sessions (noeviction) alarm on memory and evictions; the cache on hit rate.
    assert {"redis-sessions-memory", "redis-sessions-evictions", "redis-cache-hit-rate"} <= set(alarms)
    assert "redis-cache-memory" not in alarms and "redis-sessions-hit-rate" not in alarms
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert {f"nat-{i + 1}-drops" for i in range(len(nats))} <= set(alarms)


def test_seed_targets_are_the_thresholds(prod):
    alarms = alarms_of(prod)
    assert alarms["alb-p95"].inputs["extendedStatistic"] == "p95"
    assert alarms["alb-p95"].inputs["threshold"] == 0.3
    assert alarms["rds-primary-read-io-latency"].inputs["threshold"] == 0.05
    assert alarms["redis-cache-hit-rate"].inputs["threshold"] == 80
    assert alarms["redis-cache-hit-rate"].inputs["comparisonOperator"] == "LessThanThreshold"
    budget = json.loads(prod.config[f"{PROJECT}:database"])["maxConnections"]
    assert alarms["rds-primary-connections"].inputs["threshold"] == round(budget * 0.9)


def test_group_alarms_combine_every_member_node(prod):
    [group] = [g for g in prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup") if "sessions" in g.name]
    members = group.state["memberClusters"]
    queries = alarms_of(prod)["redis-sessions-memory"].inputs["metricQueries"]
    measured = [q["metric"]["dimensions"]["CacheClusterId"] for q in queries if "metric" in q]
    assert measured == members and len(members) > 1
    [result] = [q for q in queries if q["returnData"]]
    assert result["expression"] == f"MAX([{', '.join(f'm{i}' for i in range(len(members)))}])"


def test_hit_rate_is_hits_over_hits_and_misses_of_the_whole_group(prod):
    queries = alarms_of(prod)["redis-cache-hit-rate"].inputs["metricQueries"]
    by_id = {q["id"]: q for q in queries}
    assert by_id["result"]["expression"] == "100 * hits / (hits + misses)"
    assert {q["metric"]["metricName"] for q in queries if "metric" in q} == {"CacheHits", "CacheMisses"}
    assert by_id["hits"]["returnData"] is False and by_id["misses"]["returnData"] is False


def test_silence_breaches_only_in_prod_and_only_where_it_means_an_outage(run):
    prod = run.stack == "prod"
    for name, alarm in nonempty(alarms_of(run).items()):
        # CPU and OpenSearch's cluster status are reported while the service lives; the ALB's
        # latency only while someone is served, so a quiet hour is no outage.
        # A canary runs on its schedule, traffic or not: no result means it no longer runs.
        outage = name.endswith(("-cpu", "-failed")) or name == "search-red"
        expected = "breaching" if prod and outage else "notBreaching"
        if name == "alertmanager-heartbeat":
            expected = "breaching"  # its silence is the outage, in every stack
        assert alarm.inputs["treatMissingData"] == expected, name


def test_thresholds_follow_config():
    alarms = section("staging", "monitoring").get("alarms", {}) | {"albP95Ms": 250, "evaluationPeriods": 10}
    config = with_section("staging", f"{PROJECT}:monitoring", section("staging", "monitoring") | {"alarms": alarms})
    run = run_program("staging", config=config)
    alb = alarms_of(run)["alb-p95"]
    assert alb.inputs["threshold"] == 0.25 and alb.inputs["evaluationPeriods"] == 10


@pytest.mark.parametrize(
    ("alarms", "key"),
    [
        ({"datapointsToAlarm": 6, "evaluationPeriods": 5}, "datapointsToAlarm"),
        ({"periodS": 45}, "periodS"),
        ({"albP95ms": 300}, "albP95ms"),
    ],
)
def test_bad_alarm_settings_are_one_line_naming_the_key(alarms, key):
    [problem] = section_problems("staging", "monitoring", alarms=alarms)
    assert key in problem and "\n" not in problem


def test_bad_subscribers_are_refused():
    [problem] = section_problems("staging", "monitoring", notifications={"emails": ["ops at example"]})
    assert "ops at example" in problem and "notifications" in problem


def test_the_topic_key_lets_cloudwatch_publish_and_nothing_else_outside_the_account(staging):
    """The us-east-1 topics also take the billing services' alerts (budget, cost anomalies)."""
    for topic in nonempty(staging.of_type(TOPIC)):
        key = next(k for k in staging.of_type("aws:kms/key:Key") if k.state["arn"] == topic.inputs["kmsMasterKeyId"])
        statements = json.loads(key.inputs["policy"])["Statement"]
        service = [s for s in statements if "Service" in s["Principal"]]
        billing = ["budgets.amazonaws.com", "costalerts.amazonaws.com"] if "-edge-" in topic.name else []
        assert [s["Principal"]["Service"] for s in service] == ["cloudwatch.amazonaws.com", *billing]
        for grant in service:
            assert grant["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
            assert grant["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        # The account's IAM decides (the root's default) and the deploy role administers, both
        # through the account root principal: no other account is named.
        accounts = {s["Principal"]["AWS"] for s in statements if "AWS" in s["Principal"]}
        assert accounts == {"arn:aws:iam::123456789012:root"}
        assert key.inputs["enableKeyRotation"] is True


def test_subscriptions_come_from_config_in_both_regions():
    notifications = {"emails": ["oncall@smartdairy.example"], "httpsEndpoints": ["https://events.pagerduty.com/x"]}
    config = with_section(
        "staging", f"{PROJECT}:monitoring", section("staging", "monitoring") | {"notifications": notifications}
    )
    run = run_program("staging", config=config)
    subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions) == sorted(
        [("email", "oncall@smartdairy.example"), ("https", "https://events.pagerduty.com/x")] * 2
    )
    assert {region_of(run, s) for s in subscriptions} == {"us-east-1", run.outputs["region"]}


def test_grafana_reads_cloudwatch_with_a_subset_of_the_managed_policy():
    ours = effective_permissions(GRAFANA_CLOUDWATCH)
    upstream = effective_permissions(json.loads(GRAFANA_UPSTREAM.read_text()))
    assert ours and ours <= upstream
    assert not any(action.startswith(("logs:", "oam:")) for _, action, _, _ in ours)


def monitoring_release(run: ProgramRun):
    return next(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack")


def test_grafana_and_alertmanager_get_pod_identity_before_their_pods_exist(run):
    release = monitoring_release(run)
    associations = {
        a.inputs["serviceAccount"]: a for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    values = release.inputs["values"]
    assert values["grafana"]["serviceAccount"]["name"] == associations["grafana"].inputs["serviceAccount"]
    assert values["alertmanager"]["serviceAccount"]["name"] == associations["alertmanager"].inputs["serviceAccount"]
    for account in ("grafana", "alertmanager"):
        assert associations[account].inputs["namespace"] == "monitoring"
        assert waits_for(run, release, associations[account]), account


def test_grafana_has_no_admin_and_no_login(run):
    """No local admin is created and nobody logs in: viewing is read-only, through a port-forward."""
    grafana = monitoring_release(run).inputs["values"]["grafana"]
    ini = grafana["grafana.ini"]
    assert ini["security"] == {"disable_initial_admin_creation": True}
    assert ini["auth"]["disable_login_form"] is True and ini["auth.basic"]["enabled"] is False
    assert ini["auth.anonymous"] == {"enabled": True, "org_role": "Viewer"}
    assert "admin" not in grafana and "adminPassword" not in grafana and not grafana.get("ingress")
    assert not [s for s in run.of_type("kubernetes:core/v1:Secret") if "grafana" in s.name]


def receivers_of(run: ProgramRun) -> dict[str, str]:
    """Alertmanager's receiver -> the SNS topic it publishes to."""
    config = monitoring_release(run).inputs["values"]["alertmanager"]["config"]
    return {r["name"]: r["sns_configs"][0]["topic_arn"] for r in config["receivers"] if "sns_configs" in r}


def test_alertmanager_publishes_only_to_its_three_topics_through_their_keys(staging):
    receivers = receivers_of(staging)
    topics = {t.state["arn"]: t for t in staging.of_type(TOPIC)}
    role_policies = {p.name: json.loads(p.inputs["policy"]) for p in staging.of_type("aws:iam/rolePolicy:RolePolicy")}
    publish, keys = role_policies["sd-staging-monitoring-alertmanager"]["Statement"]
    assert publish == {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": list(receivers.values())}
    assert sorted(keys["Resource"]) == sorted({topics[arn].inputs["kmsMasterKeyId"] for arn in receivers.values()})
    assert staging.outputs["alarmTopicArn"] == receivers["pages"]
    assert staging.outputs["warningTopicArn"] == receivers["warnings"]


def test_paging_alarms_page_and_the_rest_reach_the_warnings_inbox(prod):
    pages = {prod.outputs["alarmTopicArn"], *(t.state["arn"] for t in prod.of_type(TOPIC) if "edge-alarms" in t.name)}
    paging = {name for name, alarm in alarms_of(prod).items() if set(alarm.inputs["alarmActions"]) <= pages}
    assert paging == {
        "alertmanager-heartbeat",
        "alb-5xx",
        "cdn-5xx",
        "search-red",
        "search-storage",
        "redis-sessions-memory",
        "redis-sessions-evictions",
        *(f"canary-{check}-failed" for check in ("page-load", "static-asset", "api")),
        *(
            f"rds-{role}-{kind}"
            for role in ("primary", "replica-1", "replica-2", "replica-3")
            for kind in ("connections", "storage")
        ),
    }
    assert "alb-p95" not in paging and "cdn-hit-rate" not in paging


def test_a_silent_alertmanager_pages_through_cloudwatch(run):
    """The Watchdog beats every 5 minutes into a topic nobody subscribes to; 15 minutes without a
    publish (no datapoint at all, too) page."""
    heartbeat = alarms_of(run)["alertmanager-heartbeat"]
    topic = next(t for t in run.of_type(TOPIC) if t.state["arn"] == receivers_of(run)["heartbeat"])
    assert (heartbeat.inputs["namespace"], heartbeat.inputs["metricName"]) == ("AWS/SNS", "NumberOfMessagesPublished")
    assert heartbeat.inputs["dimensions"] == {"TopicName": topic.state["name"]}
    assert heartbeat.inputs["period"] * heartbeat.inputs["evaluationPeriods"] == 900
    assert heartbeat.inputs["alarmActions"] == [run.outputs["alarmTopicArn"]]
    assert not [
        s for s in run.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["topic"] == topic.state["arn"]
    ]


def amtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_tool("amtool", *args, cwd=cwd)


@pytest.fixture(scope="module")
def alertmanager_file(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("alertmanager")
    arn = "arn:aws:sns:eu-west-1:123456789012:sd-prod-{}"
    config = alertmanager_config(arn.format("pages"), arn.format("warnings"), arn.format("heartbeat"), "eu-west-1")
    (directory / "alertmanager.yaml").write_text(yaml.safe_dump(config))
    return directory


@pytest.mark.real_server
def test_alertmanager_config_passes_amtool(alertmanager_file):
    result = amtool("check-config", "alertmanager.yaml", cwd=alertmanager_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 receivers" in result.stdout


def route(config_dir: Path, labels: list[str]) -> str:
    result = amtool("config", "routes", "test", "--config.file=alertmanager.yaml", *labels, cwd=config_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.real_server
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=PodsUnschedulable", "severity=critical"], "pages"),
        (["alertname=ErrorBudgetBurn1h", "severity=critical", "service=odoo"], "pages"),
        (["alertname=ApiLatencyP95High", "severity=warning"], "warnings"),
        (["alertname=CPUThrottlingHigh", "severity=info"], "warnings"),
        (["alertname=SomethingNew"], "warnings"),
        (["alertname=Watchdog", "severity=none"], "heartbeat"),
        (["alertname=InfoInhibitor", "severity=none"], "null"),
    ],
)
def test_critical_alerts_page_the_rest_reach_an_inbox_and_the_watchdog_beats(alertmanager_file, labels, receiver):
    assert route(alertmanager_file, labels) == receiver


@pytest.mark.real_server
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_rendered_alert_reaches_a_person(stack, tmp_path):
    """Each alerting rule the program renders, with its own labels, through the rendered
    Alertmanager config: critical ones page, none falls into `null`."""
    run = program_run(stack)
    release = monitoring_release(run)
    (tmp_path / "alertmanager.yaml").write_text(yaml.safe_dump(release.inputs["values"]["alertmanager"]["config"]))
    [rules] = [r for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")]
    alerts = [rule for group in rules.inputs["spec"]["groups"] for rule in group["rules"] if "alert" in rule]
    for rule in nonempty(alerts):
        labels = [f"alertname={rule['alert']}", *(f"{k}={v}" for k, v in rule["labels"].items())]
        expected = "pages" if rule["labels"]["severity"] == "critical" else "warnings"
        assert route(tmp_path, labels) == expected, rule["alert"]


def test_the_design_slo_table_names_only_what_exists(prod, staging):
    from components.observability.slo_rules import slo_rule_groups
    from tests.test_dashboards import MODELS
    from tests.test_slo_rules import TARGETS

    lines = (ROOT / "docs" / "DESIGN.md").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| target (seed) |")))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :])
    rows = [line.strip("|").split(" | ") for line in table]
    alerts = {r["alert"] for g in slo_rule_groups(TARGETS) for r in g["rules"] if "alert" in r}
    panels = {
        f"{m['title'].removeprefix('Smart Dairy / ')} / {p['title']}" for m in MODELS.values() for p in m["panels"]
    }
    alarms = set(alarms_of(prod)) | set(alarms_of(staging))
    assert len(rows) >= 7
    for _, _, alert_cell, panel_cell, alarm_cell in (map(str.strip, row) for row in rows):
        assert set(re.findall(r"`([^`]+)`", alert_cell)) <= alerts, alert_cell
        assert panel_cell in panels, panel_cell
        assert set(re.findall(r"`([^`]+)`", alarm_cell)) <= alarms, alarm_cell


def test_a_failed_rotation_or_security_function_alarms(run):
    """Both functions' errors reach the alarm topic, each with its runbook entry."""
    alarms = {a.inputs["name"]: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    for label, function in (
        ("credential-rotation", f"sd-{run.stack}-credential-rotation"),
        ("search-security", f"sd-{run.stack}-search-security"),
    ):
        alarm = alarms[f"sd-{run.stack}-{label}-errors"]
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["dimensions"] == {"FunctionName": function} and alarm["threshold"] == 0
        assert alarm["alarmActions"] == [run.named(f"sd-{run.stack}-warnings-topic").state["arn"]]
        assert f"### {label}-errors" in runbooks


def test_no_scrape_or_alert_of_what_eks_hides(run):
    """EKS exposes no scheduler, controller manager or etcd, and kube-proxy's metrics listen on
    loopback: kube-prometheus-stack must neither scrape them nor page that they are down."""
    values = monitoring_release(run).inputs["values"]
    for component in ("kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}
    rules = values["defaultRules"]["rules"]
    assert not any(rules[r] for r in ("kubeSchedulerAlerting", "kubeControllerManager", "etcd", "kubeProxy"))


def test_the_monitoring_releases_wait_for_the_node_pools_they_run_on(run):
    """Their pods run only on Karpenter's nodes: both releases depend on every NodePool, and Helm
    waits long enough for a node to launch and pull the images (the capacity model's figures)."""
    pools = {p.urn for p in run.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    releases = [
        r
        for r in run.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["name"] in ("kube-prometheus-stack", "prometheus-adapter")
    ]
    assert len(releases) == 2 and pools
    for release in releases:
        assert pools <= set(release.dependencies), release.name
        assert release.inputs["timeout"] == 300 + 2 * round(75.0 + 25.0)


def test_a_shared_session_group_alarms_on_evictions_and_pages():
    """volatile-ttl evicts only keys with a TTL, which in a shared group are sessions and
    rate-limit windows: an eviction is one of them lost."""
    from components.observability.alarm_specs import AlarmThresholds, cache_alarms

    thresholds = AlarmThresholds.model_validate({})
    shared = {a.name: a for a in cache_alarms(thresholds, "shared", ["m-1"], "volatile-ttl")}
    assert (
        shared["redis-shared-evictions"].pages
        and "sessions or rate-limit windows" in shared["redis-shared-evictions"].description
    )
    assert "redis-cache-evictions" not in {a.name for a in cache_alarms(thresholds, "cache", ["m-1"], "allkeys-lru")}


def test_a_single_node_search_domain_alarms_on_red_only(staging, prod):
    assert "search-yellow" not in alarms_of(staging) and "search-red" in alarms_of(staging)
    assert "search-yellow" in alarms_of(prod)
