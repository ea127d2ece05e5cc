"""NetworkPolicies of the `monitoring` namespace: deny everything, then the flows
kube-prometheus-stack and prometheus-adapter need. Enforced by the VPC CNI's agent, which lets
the node's own IP through (kubelet probes, `kubectl port-forward`) and leaves hostNetwork pods
(node-exporter) alone.

The EKS API server reaches pods (the operator's admission webhook, the adapter's APIService)
from its network interfaces in the cluster's subnets, which no selector names: those ingress
rules admit the subnets, on those two ports only (aws-network-policy-agent#281).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.apps.kubernetes_network_policies import (
    DNS_EGRESS,
    INTERNET_HTTPS_EGRESS,
    POD_IDENTITY_EGRESS,
    ip_blocks,
    namespace_named,
    tcp_ports,
)

#: Container ports the API server calls: prometheus-operator's webhook, prometheus-adapter.
WEBHOOK_PORT, ADAPTER_PORT = 10250, 6443
#: What Prometheus scrapes on the nodes: the kubelet (and cAdvisor), node-exporter.
KUBELET_PORT, NODE_EXPORTER_PORT = 10250, 9100
#: The API server's port on its network interfaces.
API_SERVER_PORT = 443


def _named(name: str) -> dict:
    return {"matchLabels": {"app.kubernetes.io/name": name}}


def monitoring_policies(
    cluster_cidrs: Sequence[str], prometheus_port: int, remote_writers: Sequence[str]
) -> dict[str, dict]:
    """name -> NetworkPolicy spec. `cluster_cidrs`: the cluster's subnets (nodes and the API
    server's interfaces); `remote_writers`: namespaces whose pods push samples to Prometheus."""
    same_namespace: list[dict] = [{"podSelector": {}}]
    policies: dict[str, dict] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": DNS_EGRESS,
        # Grafana and the adapter query Prometheus, Prometheus alerts Alertmanager, the
        # operator's reloaders: the stack talks to itself.
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": same_namespace}],
            "egress": [{"to": same_namespace}],
        },
        # The operator, kube-state-metrics, the adapter and Grafana's sidecar watch the API.
        "allow-api-server": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": ip_blocks(cluster_cidrs), "ports": tcp_ports(WEBHOOK_PORT, ADAPTER_PORT)}],
            "egress": [{"to": ip_blocks(cluster_cidrs), "ports": tcp_ports(API_SERVER_PORT)}],
        },
        # `make verify` queries Prometheus through the API server's service proxy, which calls
        # from the API server's interfaces in the cluster's subnets.
        "prometheus-api-proxy": {
            "podSelector": _named("prometheus"),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": ip_blocks(cluster_cidrs), "ports": tcp_ports(prometheus_port)}],
        },
        # Prometheus scrapes every namespace's pods and the nodes (kubelet, node-exporter).
        "prometheus-scrapes": {
            "podSelector": _named("prometheus"),
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {}}]},
                {"to": ip_blocks(cluster_cidrs), "ports": tcp_ports(KUBELET_PORT, NODE_EXPORTER_PORT)},
            ],
        },
        # Grafana reads CloudWatch, Alertmanager publishes to SNS: AWS APIs, with their pods' role.
        **{
            f"{app}-aws": {
                "podSelector": _named(app),
                "policyTypes": ["Egress"],
                "egress": [INTERNET_HTTPS_EGRESS, POD_IDENTITY_EGRESS],
            }
            for app in ("grafana", "alertmanager")
        },
    }
    if remote_writers:
        policies["prometheus-remote-write"] = {
            "podSelector": _named("prometheus"),
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [namespace_named(name) for name in remote_writers], "ports": tcp_ports(prometheus_port)}
            ],
        }
    return policies
