"""Grafana dashboards: every PromQL expression parses (promtool, as a recording rule) and uses
only metrics the stack exports or records; the boards reach Grafana as sidecar ConfigMaps."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from components.observability.grafana_dashboards import (
    CLOUDWATCH,
    DashboardTargets,
    dashboards,
    prometheus_expressions,
)
from components.observability.metric_catalog import EXPORTED
from components.observability.slo_rules import slo_rule_groups
from tests.harness.checks import nonempty
from tests.test_slo_rules import TARGETS, promtool

BOARD_TARGETS = DashboardTargets(
    prefix="sd-prod",
    region="eu-west-1",
    namespace="smartdairy",
    services=["api-gateway", "odoo"],
    latency_p95_s=0.3,
    availability=0.999,
    max_connections=400,
    rds_latency_ms=50,
    cache_hit_rate_percent=80,
    cdn_hit_rate_percent=80,
    search_domain="sd-prod-search",
    search_latency_ms=200,
)
MODELS = dashboards(BOARD_TARGETS)
#: Grafana's built-in variables, as Grafana would expand them for a 1 h view.
GRAFANA_VARIABLES = {"$__range": "1h", "$__rate_interval": "1m", "$__interval": "1m"}
PROMQL_WORDS = {
    "sum", "count", "avg", "min", "max", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "rate", "increase", "irate", "histogram_quantile", "label_replace", "offset",
    "bool", "inf", "nan",
}  # fmt: skip


def expanded(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Identifiers that name series: not inside {...} or quotes, not functions, keywords, or
    the labels of by/without/on clauses, not durations."""
    text = re.sub(r'"[^"]*"', '""', expanded(expr))
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if match.group() in PROMQL_WORDS or following.startswith("("):
            continue
        names.add(match.group())
    return names


def recorded() -> set[str]:
    return {rule["record"] for group in slo_rule_groups(TARGETS) for rule in group["rules"] if "record" in rule}


def test_there_are_the_four_boards_the_issue_asks_for():
    titles = {model["title"] for model in MODELS.values()}
    assert titles == {f"Smart Dairy / {t}" for t in ("SLO overview", "Capacity", "Data tier", "Edge")}


def test_every_prometheus_expression_parses(tmp_path):
    expressions = prometheus_expressions(MODELS)
    assert len(expressions) >= 15
    rules = [{"record": f"dashboard:check_{i}", "expr": expanded(expr)} for i, (_, _, expr) in enumerate(expressions)]
    (tmp_path / "dashboards.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", "dashboards.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_metric_on_a_board_is_exported_or_recorded():
    known = EXPORTED | recorded()
    unknown = {
        (uid, title, name) for uid, title, expr in prometheus_expressions(MODELS) for name in metric_names(expr) - known
    }
    assert unknown == set()


def test_the_rules_use_only_exported_metrics_too():
    expressions = [r["expr"] for g in slo_rule_groups(TARGETS) for r in g["rules"]]
    used = set().union(*(metric_names(e) for e in expressions))
    assert used - EXPORTED - recorded() == set()


def test_the_name_check_would_catch_a_typo():
    assert metric_names('sum by (service) (rate(http_request_total{code=~"5.."}[5m]))') == {"http_request_total"}


def test_pool_efficiency_is_time_served_over_time_offered(tmp_path):
    """9 s of transactions served per second and 1 s of clients waiting: 90 % (the seed's bar)."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": slo_rule_groups(TARGETS)}))
    db = '{database="odoo"}'
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"pgbouncer_stats_server_in_transaction_seconds_total{db}", "values": "0+540x10"},
                    {"series": f"pgbouncer_stats_client_wait_seconds_total{db}", "values": "0+60x10"},
                ],
                "promql_expr_test": [
                    {
                        "expr": "pgbouncer:pool_efficiency:ratio_rate5m",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": f"pgbouncer:pool_efficiency:ratio_rate5m{db}", "value": 0.9}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    result = promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cloudwatch_variables_list_only_this_stacks_resources():
    for uid in ("sd-data", "sd-edge"):
        for variable in MODELS[uid]["templating"]["list"]:
            assert variable["datasource"] == CLOUDWATCH
            if variable["name"] != "distribution":  # distribution IDs are random: nothing to filter on
                assert "sd-prod-" in variable["regex"], variable["name"]


def test_edge_metrics_are_read_in_us_east_1():
    for panel in nonempty(MODELS["sd-edge"]["panels"]):
        for target in panel["targets"]:
            if target["namespace"] in ("AWS/CloudFront", "AWS/WAFV2"):
                assert target["region"] == "us-east-1", panel["title"]


@pytest.mark.program
def test_boards_reach_grafana_as_labelled_configmaps(run):
    maps = [
        m
        for m in run.of_type("kubernetes:core/v1:ConfigMap")
        if m.inputs["metadata"].get("labels", {}).get("grafana_dashboard")
    ]
    assert {m.inputs["metadata"]["name"] for m in maps} == {f"dashboard-{uid}" for uid in MODELS}
    for configmap in maps:
        assert configmap.inputs["metadata"]["labels"] == {"grafana_dashboard": "1"}
        [(filename, body)] = configmap.inputs["data"].items()
        model = json.loads(body)
        assert filename == f"{model['uid']}.json"
        assert all(f"sd-{run.stack}-" in v["regex"] for v in model["templating"]["list"] if v["regex"])
