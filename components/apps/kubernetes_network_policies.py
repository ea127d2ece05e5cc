"""NetworkPolicies of the application namespace: deny everything, then allow exactly the flows
of the design (ALB -> apps, gateway -> Odoo, apps -> PgBouncer and Redis, PgBouncer -> RDS,
Prometheus -> metrics ports, everyone -> DNS). Enforced by the VPC CNI's network policy agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.workload import PodPeer


@dataclass(frozen=True)
class AppNetworkPoliciesArgs:
    #: The applications' namespace, and the one Prometheus scrapes from.
    namespace: pulumi.Input[str]
    #: The namespace Prometheus scrapes from.
    monitoring_namespace: str
    #: Where the ALB's nodes live (target type ip: the ALB talks to pod IPs from these ranges).
    alb_cidrs: Sequence[str]
    #: The isolated tier: RDS, ElastiCache and OpenSearch.
    data_cidrs: Sequence[str]
    #: Odoo's web pods.
    odoo: PodPeer
    #: Odoo's bus pods.
    longpolling: PodPeer
    #: The API gateway's pods.
    gateway: PodPeer
    #: PgBouncer's pods.
    pgbouncer: PodPeer
    #: Pods that run Odoo's code outside its Deployments (the API key's CronJob): PgBouncer
    #: admits them as it admits Odoo.
    odoo_jobs: Sequence[PodPeer]
    #: Pods besides the gateway that call Odoo's web port (the load-test seeder's Jobs).
    odoo_callers: Sequence[PodPeer]
    #: Ports of the data tier: ElastiCache, RDS and OpenSearch (HTTPS).
    redis_port: int
    #: RDS's port.
    postgres_port: int
    #: OpenSearch's port (HTTPS).
    search_port: int


def _peer_pods(labels: Mapping[str, str]) -> dict:
    return {"podSelector": {"matchLabels": dict(labels)}}


def ip_blocks(cidrs: Sequence[str]) -> list[dict]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def tcp_ports(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


#: Every pod may ask the cluster's DNS (CoreDNS in kube-system), and nothing else by this rule.
DNS_EGRESS = {
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
}
#: Address ranges that are never the internet (RFC 1918): "the internet" excludes them.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
#: EKS Pod Identity's agent, on every node's link-local address: a pod that signs AWS requests
#: (SigV4) gets its credentials there. The VPC CNI's agent allows only the node's own IP by
#: default, so a default-deny egress drops this unless allowed (aws-network-policy-agent).
POD_IDENTITY_EGRESS = {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
#: HTTPS to the internet, never to a private range: AWS's public APIs (KMS, Secrets Manager; the
#: VPC has no interface endpoints, NAT carries them), the load test's target.
INTERNET_HTTPS_EGRESS = {
    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
    "ports": [{"protocol": "TCP", "port": 443}],
}


def namespace_named(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def policies(f: AppNetworkPoliciesArgs) -> dict[str, dict]:
    """name -> NetworkPolicy spec. Pure, so tests can walk every allowed flow."""
    apps = (f.odoo, f.longpolling, f.gateway)
    scraped = sorted({peer.metrics_port for peer in (*apps, f.pgbouncer) if peer.metrics_port})
    metrics_from_prometheus = {
        "from": [namespace_named(f.monitoring_namespace)],
        "ports": tcp_ports(*scraped),
    }
    to_pgbouncer = {"to": [_peer_pods(f.pgbouncer.labels)], "ports": tcp_ports(f.pgbouncer.port)}
    to_redis = {"to": ip_blocks(f.data_cidrs), "ports": tcp_ports(f.redis_port)}
    to_search = {"to": ip_blocks(f.data_cidrs), "ports": tcp_ports(f.search_port)}
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": DNS_EGRESS,
        "odoo": {
            "podSelector": {"matchLabels": dict(f.odoo.labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": ip_blocks(f.alb_cidrs), "ports": tcp_ports(f.odoo.port)},
                {
                    "from": [_peer_pods(peer.labels) for peer in (f.gateway, *f.odoo_callers)],
                    "ports": tcp_ports(f.odoo.port),
                },
                metrics_from_prometheus,
            ],
            # Its search requests are signed with its pods' role (Pod Identity).
            "egress": [to_pgbouncer, to_redis, to_search, POD_IDENTITY_EGRESS],
        },
        "odoo-longpolling": {
            "podSelector": {"matchLabels": dict(f.longpolling.labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": ip_blocks(f.alb_cidrs), "ports": tcp_ports(f.longpolling.port)}],
            "egress": [to_pgbouncer, to_redis],
        },
        "api-gateway": {
            "podSelector": {"matchLabels": dict(f.gateway.labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": ip_blocks(f.alb_cidrs), "ports": tcp_ports(f.gateway.port)}, metrics_from_prometheus],
            "egress": [
                {"to": [_peer_pods(f.odoo.labels)], "ports": tcp_ports(f.odoo.port)},
                to_pgbouncer,
                to_redis,
                to_search,
                # Signed search requests, and tokens signed by KMS, with its pods' role.
                POD_IDENTITY_EGRESS,
                INTERNET_HTTPS_EGRESS,
            ],
        },
        "pgbouncer": {
            "podSelector": {"matchLabels": dict(f.pgbouncer.labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [_peer_pods(peer.labels) for peer in (*apps, *f.odoo_jobs)],
                    "ports": tcp_ports(f.pgbouncer.port),
                },
                metrics_from_prometheus,
            ],
            "egress": [{"to": ip_blocks(f.data_cidrs), "ports": tcp_ports(f.postgres_port)}],
        },
    }


class AppNetworkPolicies(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network_policies:AppNetworkPolicies"

    def __init__(self, name: str, args: AppNetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        specs = policies(args)
        for policy_name, spec in specs.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name, namespace=args.namespace),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names = sorted(specs)
        self.register_outputs({"names": self.names})
