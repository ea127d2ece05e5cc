"""The delivery runner's path to this stack's private Kubernetes API: a VPC peering connection
with the runner's VPC (made by bootstrap/, same account) and routes both ways.

EKS publishes a private-only endpoint's name with its private addresses, so a peered client
resolves and reaches it once a route exists and the cluster security group admits its range on
443 (EksCluster's privateAccessCidrs). The peering and routes belong to this stack: `destroy`
removes them after everything on the cluster, and the runner itself stays for the next stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class RunnerPeeringArgs:
    #: This stack's VPC, its range, and the private route tables the control plane's ENIs use.
    vpc_id: pulumi.Input[str]
    #: This stack's VPC range.
    vpc_cidr: pulumi.Input[str]
    #: The private route tables the control plane's ENIs use.
    route_table_ids: Sequence[pulumi.Input[str]]
    #: The runner's VPC, range and route tables (bootstrap outputs `<env>.runner`).
    runner_vpc_id: str
    #: The runner's VPC range.
    runner_cidr: str
    #: The runner's route tables.
    runner_route_table_ids: Sequence[str]


class RunnerPeering(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network:RunnerPeering"
    peering_id: pulumi.Output[str]

    def __init__(self, name: str, args: RunnerPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        peering = aws.ec2.VpcPeeringConnection(
            name,
            vpc_id=args.vpc_id,
            peer_vpc_id=args.runner_vpc_id,
            auto_accept=True,
            tags={"Name": name},
            opts=child,
        )
        to_runner = self._routes(f"{name}-to-runner", args.route_table_ids, args.runner_cidr, peering)
        from_runner = self._routes(f"{name}-from-runner", args.runner_route_table_ids, args.vpc_cidr, peering)
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
