"""The delivery runner's path to this stack's private Kubernetes API: a VPC peering connection
with the runner's VPC (made by bootstrap/, same account) and routes both ways.

EKS publishes a private-only endpoint's name with its private addresses, so a peered client
resolves and reaches it once a route exists and the cluster security group admits its range on
443 (EksCluster's privateAccessCidrs). The peering and routes belong to this stack: `destroy`
removes them after everything on the cluster, and the runner itself stays for the next stack.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from components.settings import Section


def private_range(value: str, smallest_prefix: int) -> str:
    """A private IPv4 range no smaller than /smallest_prefix."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR ({exc})") from None
    if network.version != 4 or not network.is_private or network.prefixlen > smallest_prefix:
        raise ValueError(f"expected a private IPv4 range of /{smallest_prefix} or larger, e.g. 10.250.0.0/24")
    return value


class RunnerNetwork(Section):
    """The environment's CodeBuild runner network (bootstrap outputs `runners.<env>`): the stack
    peers with it and opens its Kubernetes API on 443 to its range only."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="The runner VPC (vpcId).")
    cidr: str = Field(description="The runner VPC's range (cidr); must not overlap network.cidr.")
    route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]] = Field(
        min_length=1, description="The runner's private route tables (routeTableIds): they get a route to this VPC."
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return private_range(value, 28)


@dataclass(frozen=True)
class RunnerPeeringArgs:
    #: This stack's VPC, its range, and the private route tables the control plane's ENIs use.
    vpc_id: pulumi.Input[str]
    #: This stack's VPC range.
    vpc_cidr: pulumi.Input[str]
    #: The private route tables the control plane's ENIs use.
    route_table_ids: Sequence[pulumi.Input[str]]
    #: The runner's VPC, range and route tables (the stack's `delivery.runner`).
    runner: RunnerNetwork


class RunnerPeering(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network:RunnerPeering"

    def __init__(self, name: str, args: RunnerPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        peering = aws.ec2.VpcPeeringConnection(
            name,
            vpc_id=args.vpc_id,
            peer_vpc_id=args.runner.vpc_id,
            auto_accept=True,
            tags={"Name": name},
            opts=child,
        )
        to_runner = self._routes(f"{name}-to-runner", args.route_table_ids, args.runner.cidr, peering)
        from_runner = self._routes(f"{name}-from-runner", args.runner.route_table_ids, args.vpc_cidr, peering)
        self.peering_id = peering.id
        #: What a job on the runner needs before it calls the API: the peering and both routes.
        self.ready: list[pulumi.Resource] = [peering, *to_runner, *from_runner]
        self.register_outputs({"peeringId": self.peering_id})

    def _routes(
        self,
        name: str,
        tables: Sequence[pulumi.Input[str]],
        destination: pulumi.Input[str],
        peering: aws.ec2.VpcPeeringConnection,
    ) -> list[aws.ec2.Route]:
        return [
            aws.ec2.Route(
                f"{name}-{index}",
                route_table_id=table,
                destination_cidr_block=destination,
                vpc_peering_connection_id=peering.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index, table in enumerate(tables)
        ]
