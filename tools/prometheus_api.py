"""PromQL against the stack's Prometheus through the Kubernetes API server's service proxy (the
current kubeconfig; read-only), for `make verify` and `make slo-report`."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import Any

from components.observability.monitoring import NAMESPACE as MONITORING_NAMESPACE
from components.observability.monitoring import PROMETHEUS_PORT


class Prometheus:
    """Instant PromQL queries to the stack's Prometheus through the Kubernetes API server's
    service proxy (read-only; the deploy and admin roles are the cluster's admins)."""

    def __init__(self, api_client: Any):
        self.api = api_client

    @classmethod
    def from_kubeconfig(cls) -> Prometheus | None:
        """None when there is no kubeconfig for the cluster (its rows are then unmeasured)."""
        try:
            from kubernetes import client, config

            config.load_kube_config()
        except Exception:
            return None
        return cls(client.ApiClient())

    def _get(self, endpoint: str, params: list[tuple[str, str]]) -> list[dict]:
        """The result, or none when Prometheus cannot be asked (no endpoint behind the proxy, a
        refused call, a timeout): its rows are then unmeasured, said on stderr."""
        service = f"prometheus-operated:{PROMETHEUS_PORT}"
        path = f"/api/v1/namespaces/{MONITORING_NAMESPACE}/services/{service}/proxy/api/v1/{endpoint}"
        try:
            answer = self.api.call_api(
                path,
                "GET",
                query_params=params,
                response_type="object",
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
            )
        except Exception as error:
            print(
                f"prometheus: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                file=sys.stderr,
            )
            return []
        return answer.get("data", {}).get("result", [])

    def value(self, query: str) -> float | None:
        """An instant query's first finite value (NaN: no traffic in the window)."""
        values = [float(sample["value"][1]) for sample in self._get("query", [("query", query)])]
        finite = [v for v in values if v == v]
        return finite[0] if finite else None

    def daily(self, query: str, start: datetime, end: datetime) -> dict[str, dict[date, float]]:
        """A range query, one point a day: series label (its labels joined) -> day -> value."""
        params = [("query", query), ("start", str(start.timestamp())), ("end", str(end.timestamp())), ("step", "86400")]
        series = {}
        for sample in self._get("query_range", params):
            label = ",".join(f"{k}={v}" for k, v in sorted(sample["metric"].items())) or "all"
            points = {datetime.fromtimestamp(float(t), UTC).date(): float(v) for t, v in sample["values"]}
            series[label] = {day: v for day, v in points.items() if v == v}
        return series
