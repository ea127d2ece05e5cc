"""Composes the platform from validated config. The only place that creates providers."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.cdn import Cdn, CdnArgs, SecurityHeaders
from components.edge_certificate import EDGE_REGION
from components.edge_firewall import EdgeFirewallArgs
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
    # CloudFront's certificate and web ACL can only live in us-east-1.
    edge = aws.Provider("aws-edge", region=EDGE_REGION, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))

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

    cdn = config.cdn
    edge_cdn = Cdn(
        f"{prefix}-cdn",
        CdnArgs(
            domain=cdn.domain,
            hosted_zone_id=cdn.hosted_zone_id,
            api_origin_domain=cdn.api_origin_domain or f"origin.{cdn.domain}",
            cache_policies=cdn.cache_policies(f"SmartDairy-{config.environment}"),
            api_origin_request=cdn.api_origin_request(f"SmartDairy-{config.environment}"),
            security_headers=SecurityHeaders(
                content_security_policy=cdn.content_security_policy, frame_options=cdn.frame_options
            ),
            firewall=EdgeFirewallArgs(
                rate_limit=cdn.waf.rate_limit,
                managed_rule_groups=cdn.waf.managed_rule_groups,
                count_only_rules={"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]},
            ),
            edge_provider=edge,
            edge_provider_region=EDGE_REGION,
            price_class=cdn.price_class,
            origin_shield_region=config.region if cdn.origin_shield else None,
            log_retention_days=cdn.access_log_retention_days if cdn.access_logs else None,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )

    return {
        "region": config.region,
        "cdnDomainName": edge_cdn.domain_name,
        "cdnDistributionId": edge_cdn.distribution_id,
        "staticBucketName": edge_cdn.static_bucket_name,
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
