"""NAT gateways, public addresses, endpoints and the ALB an Ingress makes."""

from __future__ import annotations

from collections.abc import Mapping

from ..charges import Charge, Context, hours, rule
from ..inventory import at
from ..load import Point
from ..usage import HOURS_PER_MONTH, SECONDS_PER_MONTH
from .compute import node_vcpu


@rule("aws:ec2/natGateway:NatGateway")
def nat_gateway(r: Mapping, ctx: Context) -> list[Charge]:
    """Hours, and its share of the nodes' NAT traffic (`nat_gb_per_vcpu` per node vCPU)."""
    gateways = len(ctx.of_type(r["type"]))

    def gb(p: Point) -> float:
        return ctx.usage.nat_gb_per_vcpu * node_vcpu(ctx, p) / gateways

    return [
        Charge("NAT gateway", "vpc/nat-gateway-hour", hours()),
        Charge("data processed", "vpc/nat-gateway-gb", gb),
    ]


@rule("aws:ec2/eip:Eip")
def elastic_ip(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("public IPv4 address", "vpc/public-ipv4-hour", hours())]


@rule("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(r: Mapping, ctx: Context) -> list[Charge]:
    """Gateway endpoints (S3, DynamoDB) are free; interface endpoints bill per zone."""
    if r["inputs"].get("vpcEndpointType", "Gateway") == "Gateway":
        return []
    zones = len(r["inputs"].get("subnetIds") or [])
    return [Charge(f"interface endpoint in {zones} zone(s)", "vpc/interface-endpoint-hour", hours(zones))]


@rule("kubernetes:networking.k8s.io/v1:Ingress")
def ingress(r: Mapping, ctx: Context) -> list[Charge]:
    """The ALB the load balancer controller creates: hours, LCUs (the larger of processed GB per
    hour and new connections per second / 25), and one public IPv4 per public subnet."""
    annotations = at(r["inputs"], "metadata", "annotations") or {}
    alb = at(r["inputs"], "spec", "ingressClassName") == "alb" or any(
        key.startswith("alb.ingress.kubernetes.io/") for key in annotations
    )
    if not alb:
        return []
    zones = sum(
        1 for s in ctx.of_type("aws:ec2/subnet:Subnet") if (s["inputs"].get("tags") or {}).get("kubernetes.io/role/elb")
    )

    def lcu_hours(p: Point) -> float:
        t = ctx.traffic(p)
        gb_per_hour = t.alb_gb / HOURS_PER_MONTH
        connections_per_s = t.alb_requests * ctx.usage.alb_new_connections_per_request / SECONDS_PER_MONTH
        return hours(max(gb_per_hour, connections_per_s / 25))

    return [
        Charge("Application Load Balancer", "elb/alb-hour", hours()),
        Charge("load balancer capacity units", "elb/alb-lcu-hour", lcu_hours),
        Charge(f"{zones} public IPv4 addresses", "vpc/public-ipv4-hour", hours(zones)),
    ]
