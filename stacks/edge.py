"""Edge composition: CloudFront in front of the S3 assets and the ALB origin."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.edge.cdn import Cdn, CdnArgs, SecurityHeaders
from components.edge.cdn_policies import api_origin_request, seed_cache_policies
from components.edge.certificate import EDGE_REGION
from components.edge.firewall import EdgeFirewallArgs

from .schema import PlatformConfig
from .schema.cdn import ttls_by_role
from .wiring import args_from


def cdn(
    prefix: str,
    config: PlatformConfig,
    api_origin: pulumi.Input[str],
    origin_secret: pulumi.Input[str],
    rate_limit_exempt: Sequence[pulumi.Input[str]],
    edge: aws.Provider,
    regional: aws.Provider,
) -> Cdn:
    """`rate_limit_exempt`: CIDRs the WAF's rate limit skips (the load test's NAT addresses)."""
    spec = config.cdn
    names = f"SmartDairy-{config.environment}"
    return Cdn(
        f"{prefix}-cdn",
        args_from(
            spec,
            CdnArgs,
            api_origin_domain=api_origin,
            origin_secret=origin_secret,
            cache_policies=seed_cache_policies(names, ttls_by_role(spec.ttls)),
            api_origin_request=api_origin_request(names),
            security_headers=args_from(spec, SecurityHeaders),
            firewall=args_from(
                spec.waf,
                EdgeFirewallArgs,
                count_only_rules={"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]},
                rate_limit_exempt=rate_limit_exempt,
            ),
            edge_provider=edge,
            edge_provider_region=EDGE_REGION,
            origin_shield_region=config.region if spec.origin_shield else None,
            log_retention_days=spec.access_log_retention_days if spec.access_logs else None,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )
