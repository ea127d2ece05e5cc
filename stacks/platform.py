"""Composes the platform from validated config. The only place that creates providers."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.network import Network, NetworkArgs

from .loader import ConfigError, config_key
from .schema import PlatformConfig


def build_platform(config: PlatformConfig) -> dict[str, Any]:
    """Register every component of one environment; returns the stack outputs."""
    project = pulumi.get_project()
    prefix = f"sd-{config.environment}"
    tags = config.required_tags(project)
    regional = aws.Provider(
        "aws",
        region=config.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    )

    network = Network(
        prefix,
        NetworkArgs(
            cidr=config.network.cidr,
            availability_zones=_availability_zones(config, regional, project),
            subnets=config.network.subnet_plan(),
            nat_gateway_per_az=config.network.nat_gateways == "per-az",
            flow_log_retention_days=config.network.flow_log_retention_days,
            flow_log_traffic_type=config.network.flow_log_traffic_type,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )

    return {
        "region": config.region,
        "vpcId": network.vpc_id,
        "availabilityZones": network.availability_zones,
        "privateSubnetIds": network.private_subnet_ids,
        "natPublicIps": network.nat_public_ips,
    }


def _availability_zones(config: PlatformConfig, provider: aws.Provider, project: str) -> list[str]:
    zones = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=pulumi.InvokeOptions(provider=provider),
    ).names
    wanted = config.network.az_count
    if len(zones) < wanted:
        raise ConfigError(
            [
                f"{config_key(project, 'network')}.azCount = {wanted}: region {config.region} "
                f"has only {len(zones)} standard availability zones; allowed: 2 to {len(zones)}"
            ]
        )
    return sorted(zones)[:wanted]
