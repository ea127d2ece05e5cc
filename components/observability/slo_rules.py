"""Prometheus recording and alerting rules for the seed's targets, as plain data.

Pure, so `promtool check rules` validates the rendered groups and `promtool test rules` runs
unit tests against them (tests/test_slo_rules.py) without a cluster. The series come from the
apps' metrics contract (`http_requests_total{service,code}`, `http_request_duration_seconds`),
pgbouncer-exporter and kube-state-metrics, which kube-prometheus-stack ships.

Availability uses the multi-window, multi-burn-rate scheme of the SRE workbook: a fast burn
(14.4x the error budget over 1 h, confirmed over 5 m) pages, a slow burn (6x over 6 h, confirmed
over 30 m) pages too; each pair fires only while both windows burn, so it resets quickly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: (long window, short window, burn-rate factor, severity)
BURN_RATE_WINDOWS = (("1h", "5m", 14.4, "critical"), ("6h", "30m", 6.0, "critical"))
RATE_WINDOWS = ("5m", "30m", "1h", "6h")


@dataclass(frozen=True)
class SloTargets:
    """What the rules alert on; the defaults in config are the seed's targets."""

    #: Services (the `service` label of the apps' metrics) whose availability and latency count.
    services: Sequence[str]
    #: p95 latency target of the API, seconds (the seed: 0.3), and how long it may be exceeded.
    latency_p95_s: float
    latency_for: str
    #: Availability objective, e.g. 0.999: the error budget is 1 - this.
    availability: float
    #: PgBouncer clients waiting for a server connection before it alerts, and for how long.
    pgbouncer_waiting_clients: int
    pgbouncer_waiting_for: str
    #: Age of the oldest client waiting for a server connection (seconds) before it alerts.
    pgbouncer_max_wait_s: float
    #: Average query time through PgBouncer (seconds; the seed: 0.05) and pool efficiency (served
    #: over offered client time; the seed: 0.9), and how long either may miss before it alerts.
    query_time_s: float
    pool_efficiency: float
    data_targets_for: str
    #: An HPA pinned at maxReplicas this long means capacity is exhausted.
    hpa_at_max_for: str
    #: Pods unschedulable this long means Karpenter cannot launch nodes.
    pending_pods_for: str
    #: Base of the runbook links (docs/runbooks.md in the repository).
    runbook_base: str


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, runbook: str, base: str) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "runbook_url": f"{base}#{runbook}"},
    }


def slo_rule_groups(t: SloTargets) -> list[dict]:
    """The recording group (the services' SLIs, then PgBouncer's and the cluster's), and the
    alerting group on them."""
    selector = f'service=~"{"|".join(t.services)}"'
    return [
        {"name": "smartdairy-slo-records", "rules": [*_service_records(selector), *_capacity_records()]},
        {"name": "smartdairy-slo-alerts", "rules": [*_alerts(t), *_data_alerts(t), *_capacity_alerts(t)]},
    ]


def _service_records(selector: str) -> list[dict]:
    """Request rate and error ratio per burn-rate window, and p95 latency, per service."""
    return [
        *(
            {
                "record": f"service:http_requests:rate{window}",
                "expr": f"sum by (service) (rate(http_requests_total{{{selector}}}[{window}]))",
            }
            for window in RATE_WINDOWS
        ),
        *(
            {
                "record": f"service:http_errors:ratio_rate{window}",
                "expr": (
                    f'sum by (service) (rate(http_requests_total{{{selector},code=~"5.."}}[{window}]))'
                    f" / sum by (service) (rate(http_requests_total{{{selector}}}[{window}]))"
                ),
            }
            for window in RATE_WINDOWS
        ),
        {
            "record": "service:http_request_duration_seconds:p95_5m",
            "expr": (
                "histogram_quantile(0.95, sum by (service, le) "
                f"(rate(http_request_duration_seconds_bucket{{{selector}}}[5m])))"
            ),
        },
    ]


def _capacity_records() -> list[dict]:
    """What the pools and the cluster have left: waiting clients, HPAs at their maximum,
    pending pods, pool efficiency and utilisation (the seed's > 90 %)."""
    return [
        {
            "record": "pgbouncer:clients_waiting:sum",
            "expr": "sum by (database) (pgbouncer_pools_client_waiting_connections)",
        },
        {
            "record": "pgbouncer:client_maxwait_seconds:max",
            "expr": "max by (database) (pgbouncer_pools_client_maxwait_seconds)",
        },
        {
            "record": "horizontalpodautoscaler:at_max_replicas:bool",
            "expr": (
                "kube_horizontalpodautoscaler_status_current_replicas"
                " >= bool kube_horizontalpodautoscaler_spec_max_replicas"
            ),
        },
        {
            "record": "namespace:pods_pending:sum",
            "expr": 'sum by (namespace) (kube_pod_status_phase{phase="Pending"})',
        },
        {
            # Pool efficiency (the seed: > 90 %): client time served over time offered (served + waited).
            "record": "pgbouncer:pool_efficiency:ratio_rate5m",
            "expr": (
                "sum by (database) (rate(pgbouncer_stats_server_in_transaction_seconds_total[5m]))"
                " / (sum by (database) (rate(pgbouncer_stats_server_in_transaction_seconds_total[5m]))"
                " + sum by (database) (rate(pgbouncer_stats_client_wait_seconds_total[5m])))"
            ),
        },
        {
            "record": "pgbouncer:query_duration_seconds:avg_rate5m",
            "expr": (
                "sum by (database) (rate(pgbouncer_stats_queries_duration_seconds_total[5m]))"
                " / sum by (database) (rate(pgbouncer_stats_queries_pooled_total[5m]))"
            ),
        },
        {
            # SHOW DATABASES names the PgBouncer alias `name` (its `database` is the server's).
            "record": "pgbouncer:server_utilisation:ratio",
            "expr": (
                "sum by (database) (pgbouncer_pools_server_active_connections)"
                ' / sum by (database) (label_replace(pgbouncer_databases_pool_size, "database", "$1", "name", "(.*)"))'
            ),
        },
    ]


def _alerts(t: SloTargets) -> list[dict]:
    budget = round(1 - t.availability, 6)
    base = t.runbook_base
    return [
        _alert(
            "ApiLatencyP95High",
            f"service:http_request_duration_seconds:p95_5m > {t.latency_p95_s}",
            t.latency_for,
            "warning",
            f"p95 latency of {{{{ $labels.service }}}} is over {int(t.latency_p95_s * 1000)} ms",
            "api-latency-p95-high",
            base,
        ),
        *(
            _alert(
                f"ErrorBudgetBurn{long_window}",
                f"service:http_errors:ratio_rate{long_window} > {factor} * {budget}"
                f" and service:http_errors:ratio_rate{short_window} > {factor} * {budget}",
                "2m",
                severity,
                f"{{{{ $labels.service }}}} burns its {t.availability:.1%} error budget {factor}x too fast",
                "error-budget-burn",
                base,
            )
            for long_window, short_window, factor, severity in BURN_RATE_WINDOWS
        ),
    ]


def _data_alerts(t: SloTargets) -> list[dict]:
    """PgBouncer's pools: waiting clients, query time and pool efficiency (the seed's targets)."""
    base = t.runbook_base
    return [
        _alert(
            "PgBouncerClientsWaiting",
            f"pgbouncer:clients_waiting:sum > {t.pgbouncer_waiting_clients}",
            t.pgbouncer_waiting_for,
            "warning",
            f"over {t.pgbouncer_waiting_clients} clients wait for a server connection on {{{{ $labels.database }}}}",
            "pgbouncer-clients-waiting",
            base,
        ),
        _alert(
            "PgBouncerWaitTimeHigh",
            f"pgbouncer:client_maxwait_seconds:max > {t.pgbouncer_max_wait_s}",
            t.pgbouncer_waiting_for,
            "warning",
            f"a client has waited over {t.pgbouncer_max_wait_s:g} s for a server on {{{{ $labels.database }}}}",
            "pgbouncer-clients-waiting",
            base,
        ),
        # The seed's query-time target, as the applications see it: PgBouncer's mean over every
        # pooled query (primary and replicas), from SHOW STATS, with no extension to install.
        _alert(
            "PgBouncerQueryTimeHigh",
            f"pgbouncer:query_duration_seconds:avg_rate5m > {t.query_time_s}",
            t.data_targets_for,
            "warning",
            f"queries on {{{{ $labels.database }}}} average over {t.query_time_s * 1000:g} ms",
            "pgbouncer-query-time-high",
            base,
        ),
        # The runtime counterpart of `make bench`'s served-within-budget share: the time clients
        # were served over the time they were served or waited (no traffic: no ratio, no alert).
        _alert(
            "PgBouncerPoolEfficiencyLow",
            f"pgbouncer:pool_efficiency:ratio_rate5m < {t.pool_efficiency}",
            t.data_targets_for,
            "warning",
            f"pool efficiency on {{{{ $labels.database }}}} is under {t.pool_efficiency:.0%}",
            "pgbouncer-pool-efficiency-low",
            base,
        ),
    ]


def _capacity_alerts(t: SloTargets) -> list[dict]:
    """The cluster's scale-out: HPAs at their maximum, pods no node can take."""
    base = t.runbook_base
    return [
        _alert(
            "HpaAtMaxReplicas",
            "kube_horizontalpodautoscaler_status_current_replicas >= kube_horizontalpodautoscaler_spec_max_replicas",
            t.hpa_at_max_for,
            "warning",
            "{{ $labels.horizontalpodautoscaler }} has been at maxReplicas: capacity is exhausted",
            "hpa-at-max-replicas",
            base,
        ),
        _alert(
            "PodsUnschedulable",
            'sum by (namespace) (kube_pod_status_unschedulable{namespace="smartdairy"}) > 0',
            t.pending_pods_for,
            "critical",
            "pods in {{ $labels.namespace }} cannot be scheduled: no node can take them",
            "pods-unschedulable",
            base,
        ),
    ]
