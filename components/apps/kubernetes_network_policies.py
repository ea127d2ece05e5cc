"""NetworkPolicies of the application namespace: deny everything, then allow exactly the flows
of the design (ALB -> apps, gateway -> Odoo, apps -> PgBouncer and Redis, PgBouncer -> RDS,
Prometheus -> metrics ports, everyone -> DNS). Enforced by the VPC CNI's network policy agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class AppFlows:
    namespace: pulumi.Input[str]
    monitoring_namespace: str
    #: Where the ALB's nodes live (target type ip: the ALB talks to pod IPs from these ranges).
    alb_cidrs: Sequence[str]
    #: The isolated tier: RDS and ElastiCache.
    data_cidrs: Sequence[str]
    odoo: Mapping[str, str]  # pod labels
    longpolling: Mapping[str, str]
    gateway: Mapping[str, str]
    pgbouncer: Mapping[str, str]
    ports: Mapping[str, int]  # odoo, longpolling, gateway, pgbouncer, redis, postgres, metrics...


def _peer_pods(labels: Mapping[str, str]) -> dict:
    return {"podSelector": {"matchLabels": dict(labels)}}


def _cidrs(cidrs: Sequence[str]) -> list[dict]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def policies(f: AppFlows) -> dict[str, dict]:
    """name -> NetworkPolicy spec. Pure, so tests can walk every allowed flow."""
    p = f.ports
    apps = (f.odoo, f.longpolling, f.gateway)
    metrics_from_prometheus = {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": f.monitoring_namespace}}}],
        "ports": _tcp(p["metrics"], p["pgbouncer_metrics"]),
    }
    to_pgbouncer = {"to": [_peer_pods(f.pgbouncer)], "ports": _tcp(p["pgbouncer"])}
    to_redis = {"to": _cidrs(f.data_cidrs), "ports": _tcp(p["redis"])}
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "odoo": {
            "podSelector": {"matchLabels": dict(f.odoo)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": _cidrs(f.alb_cidrs), "ports": _tcp(p["odoo"])},
                {"from": [_peer_pods(f.gateway)], "ports": _tcp(p["odoo"])},
                metrics_from_prometheus,
            ],
            "egress": [to_pgbouncer, to_redis],
        },
        "odoo-longpolling": {
            "podSelector": {"matchLabels": dict(f.longpolling)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": _cidrs(f.alb_cidrs), "ports": _tcp(p["longpolling"])}],
            "egress": [to_pgbouncer, to_redis],
        },
        "api-gateway": {
            "podSelector": {"matchLabels": dict(f.gateway)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": _cidrs(f.alb_cidrs), "ports": _tcp(p["gateway"])}, metrics_from_prometheus],
            "egress": [{"to": [_peer_pods(f.odoo)], "ports": _tcp(p["odoo"])}, to_pgbouncer, to_redis],
        },
        "pgbouncer": {
            "podSelector": {"matchLabels": dict(f.pgbouncer)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_peer_pods(labels) for labels in apps], "ports": _tcp(p["pgbouncer"])},
                metrics_from_prometheus,
            ],
            "egress": [{"to": _cidrs(f.data_cidrs), "ports": _tcp(p["postgres"])}],
        },
    }


class AppNetworkPolicies(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network_policies:AppNetworkPolicies"
    names: list[str]

    def __init__(self, name: str, flows: AppFlows, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        specs = policies(flows)
        for policy_name, spec in specs.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name, namespace=flows.namespace),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names = sorted(specs)
        self.register_outputs({"names": self.names})
