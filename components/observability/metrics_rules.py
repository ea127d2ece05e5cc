"""prometheus-adapter rules that serve the seed's HPA metrics, computed from the apps' request
counters and duration histograms (the apps' metrics contract: `http_requests_total` and
`http_request_duration_seconds` on their `metrics` port).

- `http_requests_per_second`, a Pods metric (custom.metrics.k8s.io), per pod;
- `response_latency_p95`, an External metric (external.metrics.k8s.io) labelled by `service`,
  in seconds, so the HPA's target `300m` means 300 ms;
- `smartdairy_scheduled_pods`, an External metric labelled by `workload`: the pods a scheduled
  floor asks for now, from a recording rule of the workload's window (`floor_rule_group`).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.k8s.hpa import LATENCY_P95, REQUESTS_PER_SECOND, SCHEDULED_PODS, ScheduledFloor


def adapter_rules() -> dict:
    return {
        "default": False,
        "custom": [
            {
                "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                "name": {"matches": "^http_requests_total$", "as": REQUESTS_PER_SECOND},
                "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
            }
        ],
        "external": [
            {
                "seriesQuery": 'http_request_duration_seconds_bucket{namespace!="",service!=""}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}}},
                "name": {"matches": "^http_request_duration_seconds_bucket$", "as": LATENCY_P95},
                "metricsQuery": (
                    "histogram_quantile(0.95, sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (le, service))"
                ),
            },
            {
                # A schedule, not a namespaced measurement: any HPA may read it by its label.
                "seriesQuery": f'{SCHEDULED_PODS}{{workload!=""}}',
                "resources": {"namespaced": False},
                "name": {"matches": f"^{SCHEDULED_PODS}$", "as": SCHEDULED_PODS},
                "metricsQuery": "max(<<.Series>>{<<.LabelMatchers>>}) by (workload)",
            },
        ],
        # CPU and memory come from metrics-server (the EKS add-on), not from the adapter.
        "resource": {},
    }


def floor_rule_group(floors: Mapping[str, ScheduledFloor]) -> list[dict]:
    """The recording rules of the workloads' scheduled floors (none: no group)."""
    rules = [
        {"record": SCHEDULED_PODS, "expr": floor.expr(), "labels": {"workload": workload}}
        for workload, floor in sorted(floors.items())
    ]
    return [{"name": "smartdairy-scheduled-floors", "rules": rules}] if rules else []


def served_metrics(rules: dict) -> dict[str, set[str]]:
    """Metric names per API group that the rules expose: what an HPA may name."""
    return {
        "Pods": {rule["name"]["as"] for rule in rules.get("custom", [])},
        "External": {rule["name"]["as"] for rule in rules.get("external", [])},
    }
