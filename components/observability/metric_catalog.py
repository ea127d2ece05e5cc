"""The Prometheus metrics something in this stack exports: dashboards and rules may use these
and nothing else (tests/test_dashboards.py), so a panel cannot silently chart a series that
never exists.

Each source names the version the names were read from; bump a chart or image, re-read.
"""

from __future__ import annotations

#: The apps' metrics contract (Odoo and the API gateway on their `metrics` port): the
#: prometheus-client defaults of a request counter and a duration histogram, with `service`
#: and `code` labels. metrics_rules.py (the HPAs) and slo_rules.py depend on it too.
APPS = frozenset(
    {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    }
)

#: pgbouncer-exporter v0.10.2, collector.go (metricMaps: pgbouncer_<SHOW command>_<column>).
PGBOUNCER_EXPORTER = frozenset(
    {
        "pgbouncer_up",
        "pgbouncer_databases_pool_size",
        "pgbouncer_databases_max_connections",
        "pgbouncer_databases_current_connections",
        "pgbouncer_stats_queries_pooled_total",
        "pgbouncer_stats_queries_duration_seconds_total",
        "pgbouncer_stats_client_wait_seconds_total",
        "pgbouncer_stats_sql_transactions_pooled_total",
        "pgbouncer_stats_server_in_transaction_seconds_total",
        "pgbouncer_pools_client_active_connections",
        "pgbouncer_pools_client_waiting_connections",
        "pgbouncer_pools_server_active_connections",
        "pgbouncer_pools_server_idle_connections",
        "pgbouncer_pools_client_maxwait_seconds",
    }
)

#: kube-state-metrics of kube-prometheus-stack 79.7.1 (its chart 6.4.1). `kube_node_labels`
#: carries `label_karpenter_sh_nodepool` because monitoring.py allowlists that node label.
KUBE_STATE_METRICS = frozenset(
    {
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "kube_horizontalpodautoscaler_spec_min_replicas",
        "kube_pod_status_phase",
        "kube_pod_status_unschedulable",
        "kube_pod_container_resource_requests",
        "kube_node_labels",
        "kube_node_info",
    }
)

#: The kubelet's cAdvisor endpoint, scraped by kube-prometheus-stack's kubelet ServiceMonitor.
CADVISOR = frozenset({"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"})

EXPORTED = APPS | PGBOUNCER_EXPORTER | KUBE_STATE_METRICS | CADVISOR
