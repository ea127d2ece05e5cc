"""Security groups and their rules: TCP (UDP for DNS alone), each rule a resource of its own
(adding one never replaces the group's rule set), each saying who and why."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def port_from_groups(
    name: str,
    vpc_id: pulumi.Input[str],
    port: int,
    sources: Mapping[str, pulumi.Input[str]],
    description: str,
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """One ingress rule per source group, never a CIDR; no egress (data stores initiate nothing).

    Rules are separate `vpc.SecurityGroupIngressRule` resources keyed by the source's label, so
    adding a client later changes one rule instead of replacing the group's rule set.
    """
    group = aws.ec2.SecurityGroup(
        name, vpc_id=vpc_id, description=description, tags={"Name": name}, opts=pulumi.ResourceOptions(parent=parent)
    )
    for label, source_id in sorted(sources.items()):
        label_rule = f"{label} to port {port}"
        tcp_rule(
            f"{name}-from-{label}", group.id, (port, port), label_rule, parent, referenced_security_group_id=source_id
        )
    return group


def tcp_rule(
    name: str,
    group_id: pulumi.Input[str],
    ports: tuple[int, int],
    description: str,
    parent: pulumi.Resource,
    egress: bool = False,
    protocol: str = "tcp",
    **peer: pulumi.Input[str],
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """One rule of `group_id` for the port range `ports` (TCP unless `protocol` says udp);
    `peer` names the other side (cidr_ipv4, prefix_list_id or referenced_security_group_id)."""
    rule = aws.vpc.SecurityGroupEgressRule if egress else aws.vpc.SecurityGroupIngressRule
    return rule(
        name,
        security_group_id=group_id,
        ip_protocol=protocol,
        from_port=ports[0],
        to_port=ports[1],
        description=description,
        opts=pulumi.ResourceOptions(parent=parent),
        **peer,
    )
