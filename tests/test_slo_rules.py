"""The SLO rules through Prometheus's own tooling: `promtool check rules` on what the program
renders, and `promtool test rules` unit tests (input series -> expected alerts at given times)
for every alert: firing at its threshold, silent below it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.k8s.hpa import SCHEDULED_PODS, ScheduledFloor
from components.observability.metrics_rules import floor_rule_group
from components.observability.slo_rules import SloTargets, slo_rule_groups
from tests.harness.checks import nonempty
from tests.harness.debian_tools import run_tool

pytestmark = pytest.mark.real_server  # runs promtool from Debian's prometheus package

#: The seed's targets (p95 < 300 ms, 99.9 % uptime) and our thresholds.
TARGETS = SloTargets(
    services=["api-gateway", "odoo"],
    latency_p95_s=0.3,
    latency_for="5m",
    availability=0.999,
    pgbouncer_waiting_clients=10,
    pgbouncer_waiting_for="2m",
    pgbouncer_max_wait_s=1.0,
    query_time_s=0.05,
    pool_efficiency=0.9,
    data_targets_for="10m",
    hpa_at_max_for="15m",
    pending_pods_for="5m",
    runbook_base="https://github.com/smartdairy/smartdairy-platform/blob/main/docs/runbooks.md",
)
GATEWAY = '{service="api-gateway"'


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_tool("promtool", *args, cwd=cwd)


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("rules")
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": slo_rule_groups(TARGETS)}))
    return directory


def alert(name: str, service: str | None = None, **labels: str) -> dict:
    """The alert as promtool reports it: labels, and annotations with their templates expanded."""
    rule = rule_named(name)
    labels = ({"service": service} if service else {}) | labels
    annotations = {}
    for key, text in rule["annotations"].items():
        for label, value in labels.items():
            text = text.replace(f"{{{{ $labels.{label} }}}}", value)
        annotations[key] = text
    return {"exp_labels": labels | rule["labels"], "exp_annotations": annotations}


def rule_named(name: str) -> dict:
    return next(r for g in slo_rule_groups(TARGETS) for r in g["rules"] if r.get("alert") == name)


def run_tests(rules_dir: Path, series: list[dict], alerts: list[dict]) -> subprocess.CompletedProcess:
    test_file = rules_dir / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yaml"],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alerts}],
            }
        )
    )
    return promtool("test", "rules", "test.yaml", cwd=rules_dir)


def expect(rules_dir: Path, series: list[dict], at: str, name: str, firing: list[dict]) -> None:
    result = run_tests(rules_dir, series, [{"eval_time": at, "alertname": name, "exp_alerts": firing}])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_rules_pass_promtool_check(rules_dir):
    result = promtool("check", "rules", "rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def latency_series(slow: bool) -> list[dict]:
    """60 requests a minute, all slower than 100 ms (slow) or all faster (fast)."""
    fast_bucket = "0+0x40" if slow else "0+60x40"
    return [
        {"series": f'http_request_duration_seconds_bucket{GATEWAY},le="0.1"}}', "values": fast_bucket},
        {"series": f'http_request_duration_seconds_bucket{GATEWAY},le="0.5"}}', "values": "0+60x40"},
        {"series": f'http_request_duration_seconds_bucket{GATEWAY},le="+Inf"}}', "values": "0+60x40"},
    ]


def test_latency_alert_fires_over_300_ms(rules_dir):
    # p95 interpolates to 0.48 s in the (0.1, 0.5] bucket.
    expect(
        rules_dir, latency_series(slow=True), "15m", "ApiLatencyP95High", [alert("ApiLatencyP95High", "api-gateway")]
    )


def test_latency_alert_silent_under_300_ms(rules_dir):
    expect(rules_dir, latency_series(slow=False), "15m", "ApiLatencyP95High", [])


def traffic(errors_per_1000: float) -> list[dict]:
    """1,000 requests a minute to the gateway, this many of them 5xx."""
    return [
        {"series": f'http_requests_total{GATEWAY},code="200"}}', "values": f"0+{1000 - errors_per_1000}x480"},
        {"series": f'http_requests_total{GATEWAY},code="500"}}', "values": f"0+{errors_per_1000}x480"},
    ]


def test_fast_burn_fires_both_burn_alerts(rules_dir):
    # 2 % errors: over 14.4 x 0.1 % (fast) and 6 x 0.1 % (slow).
    series = traffic(20)
    expect(rules_dir, series, "70m", "ErrorBudgetBurn1h", [alert("ErrorBudgetBurn1h", "api-gateway")])
    expect(rules_dir, series, "70m", "ErrorBudgetBurn6h", [alert("ErrorBudgetBurn6h", "api-gateway")])


def test_slow_burn_fires_only_the_slow_alert(rules_dir):
    # 0.8 % errors: over 6 x 0.1 %, under 14.4 x 0.1 %.
    series = traffic(8)
    expect(rules_dir, series, "7h", "ErrorBudgetBurn6h", [alert("ErrorBudgetBurn6h", "api-gateway")])
    expect(rules_dir, series, "7h", "ErrorBudgetBurn1h", [])


def test_burn_alerts_silent_within_budget(rules_dir):
    series = traffic(0.5)  # 0.05 %
    expect(rules_dir, series, "7h", "ErrorBudgetBurn6h", [])
    expect(rules_dir, series, "7h", "ErrorBudgetBurn1h", [])


def waiting(clients: int) -> list[dict]:
    labels = '{database="odoo",user="sdadmin"}'
    return [{"series": f"pgbouncer_pools_client_waiting_connections{labels}", "values": f"{clients}x20"}]


def test_pgbouncer_waiting_fires_over_the_threshold(rules_dir):
    expect(
        rules_dir, waiting(11), "10m", "PgBouncerClientsWaiting", [alert("PgBouncerClientsWaiting", database="odoo")]
    )


def test_pgbouncer_waiting_silent_at_the_threshold(rules_dir):
    expect(rules_dir, waiting(10), "10m", "PgBouncerClientsWaiting", [])


def oldest_wait(seconds: float) -> list[dict]:
    labels = '{database="odoo",user="sdadmin"}'
    return [{"series": f"pgbouncer_pools_client_maxwait_seconds{labels}", "values": f"{seconds}x20"}]


def test_pgbouncer_wait_time_fires_over_the_threshold(rules_dir):
    firing = [alert("PgBouncerWaitTimeHigh", database="odoo")]
    expect(rules_dir, oldest_wait(2.5), "10m", "PgBouncerWaitTimeHigh", firing)


def test_pgbouncer_wait_time_silent_at_the_threshold(rules_dir):
    expect(rules_dir, oldest_wait(1.0), "10m", "PgBouncerWaitTimeHigh", [])


def queries(seconds_per_minute: float, per_minute: int = 600) -> list[dict]:
    """PgBouncer's SHOW STATS counters: `per_minute` queries taking `seconds_per_minute` in all."""
    labels = '{database="odoo"}'
    return [
        {"series": f"pgbouncer_stats_queries_duration_seconds_total{labels}", "values": f"0+{seconds_per_minute}x30"},
        {"series": f"pgbouncer_stats_queries_pooled_total{labels}", "values": f"0+{per_minute}x30"},
    ]


def test_query_time_fires_over_50_ms_on_average(rules_dir):
    firing = [alert("PgBouncerQueryTimeHigh", database="odoo")]
    expect(rules_dir, queries(48), "20m", "PgBouncerQueryTimeHigh", firing)  # 80 ms each
    expect(rules_dir, queries(48), "8m", "PgBouncerQueryTimeHigh", [])  # not for long enough yet


def test_query_time_silent_under_50_ms_and_without_queries(rules_dir):
    expect(rules_dir, queries(18), "20m", "PgBouncerQueryTimeHigh", [])  # 30 ms each
    expect(rules_dir, queries(0, per_minute=0), "20m", "PgBouncerQueryTimeHigh", [])


def pool(served_per_minute: float, waited_per_minute: float) -> list[dict]:
    labels = '{database="odoo"}'
    return [
        {
            "series": f"pgbouncer_stats_server_in_transaction_seconds_total{labels}",
            "values": f"0+{served_per_minute}x30",
        },
        {"series": f"pgbouncer_stats_client_wait_seconds_total{labels}", "values": f"0+{waited_per_minute}x30"},
    ]


def test_pool_efficiency_fires_under_90_percent(rules_dir):
    firing = [alert("PgBouncerPoolEfficiencyLow", database="odoo")]
    expect(rules_dir, pool(50, 10), "20m", "PgBouncerPoolEfficiencyLow", firing)  # 83 %


def test_pool_efficiency_silent_at_96_percent_and_when_idle(rules_dir):
    expect(rules_dir, pool(50, 2), "20m", "PgBouncerPoolEfficiencyLow", [])
    expect(rules_dir, pool(0, 0), "20m", "PgBouncerPoolEfficiencyLow", [])


def hpa(current: int) -> list[dict]:
    labels = '{namespace="smartdairy",horizontalpodautoscaler="odoo-hpa"}'
    return [
        {"series": f"kube_horizontalpodautoscaler_status_current_replicas{labels}", "values": f"{current}x30"},
        {"series": f"kube_horizontalpodautoscaler_spec_max_replicas{labels}", "values": "20x30"},
    ]


def test_hpa_at_max_fires_after_15_minutes(rules_dir):
    firing = [alert("HpaAtMaxReplicas", namespace="smartdairy", horizontalpodautoscaler="odoo-hpa")]
    expect(rules_dir, hpa(20), "20m", "HpaAtMaxReplicas", firing)
    expect(rules_dir, hpa(20), "10m", "HpaAtMaxReplicas", [])  # not for long enough yet


def test_hpa_below_max_is_silent(rules_dir):
    expect(rules_dir, hpa(19), "20m", "HpaAtMaxReplicas", [])


def test_unschedulable_pods_fire(rules_dir):
    series = [
        {"series": 'kube_pod_status_unschedulable{namespace="smartdairy",pod="odoo-1"}', "values": "1x15"},
    ]
    expect(rules_dir, series, "10m", "PodsUnschedulable", [alert("PodsUnschedulable", namespace="smartdairy")])
    expect(rules_dir, [], "10m", "PodsUnschedulable", [])


def test_every_alert_has_severity_summary_and_runbook():
    alerts = [rule for group in slo_rule_groups(TARGETS) for rule in group["rules"] if "alert" in rule]
    anchors = {
        line[3:].strip().lower().replace(" ", "-")
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in nonempty(alerts):
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["runbook_url"].split("#")[1] in anchors, rule["alert"]


RUNBOOKS = Path(__file__).resolve().parent.parent / "docs" / "runbooks.md"


def test_the_program_delivers_the_rules_promtool_accepts(run, tmp_path):
    [rule] = [r for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")]
    groups = rule.inputs["spec"]["groups"]
    floors = {"smartdairy-scheduled-floors"} if run.stack == "prod" else set()
    assert {g["name"] for g in groups} == {"smartdairy-slo-records", "smartdairy-slo-alerts", *floors}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    result = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    values = next(
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack"
    )
    assert values.inputs["values"]["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] is False


def test_a_scheduled_floor_asks_for_its_pods_inside_its_hours_and_none_outside(tmp_path):
    """The recorded series the Odoo HPA reads: 40 (36 plus the HPA's 10 % tolerance) from 08:00
    to 19:59 UTC, 0 otherwise, never absent (promtool evaluates the rule at 07:00, 08:00, 19:00
    and 20:00 of the epoch's day)."""
    floor = ScheduledFloor.model_validate({"replicas": 36, "fromHour": 8, "toHour": 20})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": floor_rule_group({"odoo": floor})}))
    samples = [(7, 0), (8, 40), (19, 40), (20, 0)]
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [
                    {
                        "expr": SCHEDULED_PODS,
                        "eval_time": f"{hour}h",
                        "exp_samples": [{"labels": f'{SCHEDULED_PODS}{{workload="odoo"}}', "value": value}],
                    }
                    for hour, value in samples
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
