"""Edge composition: CloudFront in front of the S3 assets and the ALB origin."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.edge.cdn import Cdn, CdnArgs, SecurityHeaders
from components.edge.certificate import EDGE_REGION
from components.edge.firewall import EdgeFirewallArgs

from .schema import PlatformConfig


def cdn(
    prefix: str, config: PlatformConfig, api_origin: pulumi.Input[str], edge: aws.Provider, regional: aws.Provider
) -> Cdn:
    spec = config.cdn
    return Cdn(
        f"{prefix}-cdn",
        CdnArgs(
            domain=spec.domain,
            hosted_zone_id=spec.hosted_zone_id,
            api_origin_domain=api_origin,
            cache_policies=spec.cache_policies(f"SmartDairy-{config.environment}"),
            api_origin_request=spec.api_origin_request(f"SmartDairy-{config.environment}"),
            security_headers=SecurityHeaders(
                content_security_policy=spec.content_security_policy, frame_options=spec.frame_options
            ),
            firewall=EdgeFirewallArgs(
                rate_limit=spec.waf.rate_limit,
                managed_rule_groups=spec.waf.managed_rule_groups,
                count_only_rules={"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]},
            ),
            edge_provider=edge,
            edge_provider_region=EDGE_REGION,
            price_class=spec.price_class,
            origin_shield_region=config.region if spec.origin_shield else None,
            log_retention_days=spec.access_log_retention_days if spec.access_logs else None,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )
