"""Security groups that admit one TCP port from named security groups and nothing else."""

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
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-{label}",
            security_group_id=group.id,
            referenced_security_group_id=source_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{label} to port {port}",
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return group
