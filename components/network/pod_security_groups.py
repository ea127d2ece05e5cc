"""Security groups for pods: each workload that talks to a data store wears a group of its own,
and the data stores admit those groups only, instead of every node of the cluster.

The VPC CNI (ENABLE_POD_ENI, standard enforcing mode) puts a pod selected by a
SecurityGroupPolicy on a branch ENI that carries the policy's groups. A group here allows:
- in: TCP from the VPC. The ALB's targets, kubelet probes, Prometheus and peer pods reach the
  pod; which of them may is the NetworkPolicies' business (the CNI's agent enforces them on
  branch ENIs too in standard mode). This layer decides who reaches the data tier.
- out: TCP to the VPC (data stores, PgBouncer, peer pods) and DNS over UDP to the VPC (CoreDNS).
  Traffic leaving the VPC is SNATed through the node's primary ENI and checked against the
  node's groups, and the Pod Identity agent listens on the node itself, which standard mode
  does not filter: neither needs a rule here.

CoreDNS runs on nodes, whose groups (the cluster's, which admits only itself, and the nodes'
group) must admit DNS from each pod group: the nodes' group gets those rules.

One group per pod, never two: the load balancer controller opens the ALB's port on a pod ENI's
only group (with several it wants exactly one tagged for the cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.security_group import tcp_rule

ALL_TCP = (0, 65535)
DNS = (53, 53)


@dataclass(frozen=True)
class PodSecurityGroupsArgs:
    #: The VPC the pods' branch ENIs live in.
    vpc_id: pulumi.Input[str]
    #: Its range: what a pod group admits and reaches.
    vpc_cidr: pulumi.Input[str]
    #: The group every node carries (CoreDNS's nodes): it admits DNS from each pod group.
    node_security_group_id: pulumi.Input[str]
    #: Workloads that get a group of their own (their app name).
    workloads: Sequence[str]
    #: The cluster whose pods wear the groups: tagged `kubernetes.io/cluster/<name>`, which the
    #: load balancer controller looks for when it cleans up its rules after a restart.
    cluster_name: str

    def __post_init__(self) -> None:
        if len(set(self.workloads)) != len(self.workloads):
            raise ValueError(f"pod security groups: workloads repeat ({list(self.workloads)})")


class PodSecurityGroups(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network:PodSecurityGroups"

    def __init__(self, name: str, args: PodSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        #: workload -> the id of the group its pods wear.
        self.group_ids: dict[str, pulumi.Output[str]] = {
            workload: self._group(f"{name}-{workload}", workload, args) for workload in args.workloads
        }
        self.register_outputs({"groupIds": self.group_ids})

    def _group(self, name: str, workload: str, args: PodSecurityGroupsArgs) -> pulumi.Output[str]:
        group = aws.ec2.SecurityGroup(
            name,
            vpc_id=args.vpc_id,
            description=f"Pods of {workload} (security groups for pods)",
            tags={"Name": name, f"kubernetes.io/cluster/{args.cluster_name}": "owned"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        vpc = args.vpc_cidr
        tcp_rule(f"{name}-from-vpc", group.id, ALL_TCP, "ALB, probes, Prometheus and peer pods", self, cidr_ipv4=vpc)
        tcp_rule(f"{name}-to-vpc", group.id, ALL_TCP, "Data stores and peer pods", self, egress=True, cidr_ipv4=vpc)
        tcp_rule(f"{name}-dns", group.id, DNS, "CoreDNS", self, egress=True, protocol="udp", cidr_ipv4=vpc)
        for protocol in ("udp", "tcp"):
            tcp_rule(
                f"{name}-dns-{protocol}-on-nodes",
                args.node_security_group_id,
                DNS,
                f"DNS from {workload} pods",
                self,
                protocol=protocol,
                referenced_security_group_id=group.id,
            )
        return group.id
