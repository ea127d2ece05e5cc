"""Edge composition: CloudFront in front of the S3 assets and the ALB origin."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.edge.cache_hits import CacheHitSampler, CacheHitSamplerArgs
from components.edge.cdn import Cdn, CdnArgs, SecurityHeaders
from components.edge.cdn_policies import api_origin_request, assets_origin_request, cache_policies
from components.edge.certificate import EDGE_REGION
from components.edge.firewall import EdgeFirewallArgs

from .context import StackContext
from .schema.cdn import ttls_by_role
from .wiring import args_from


def cdn(
    ctx: StackContext,
    api_origin: pulumi.Input[str],
    origin_secret: pulumi.Input[str],
    rate_limit_exempt: Sequence[pulumi.Input[str]],
) -> Cdn:
    """`rate_limit_exempt`: CIDRs the WAF's rate limit skips (the load test's NAT addresses)."""
    spec = ctx.config.cdn
    names = f"SmartDairy-{ctx.config.environment}"
    sampler = CacheHitSampler(
        f"{ctx.prefix}-cache-hits",
        ctx.build(
            CacheHitSamplerArgs,
            name_prefix=ctx.prefix,
            sampling_percent=spec.hit_rate_sampling_percent,
            log_retention_days=ctx.config.cluster.log_retention_days,
        ),
        opts=pulumi.ResourceOptions(providers=[ctx.edge]),
    )
    return Cdn(
        f"{ctx.prefix}-cdn",
        ctx.args(
            spec,
            CdnArgs,
            api_origin_domain=api_origin,
            origin_secret=origin_secret,
            cache_policies=cache_policies(names, ttls_by_role(spec.ttls)),
            api_origin_request=api_origin_request(names),
            assets_origin_request=assets_origin_request(names),
            security_headers=args_from(spec, SecurityHeaders),
            firewall=ctx.args(
                spec.waf,
                EdgeFirewallArgs,
                count_only_rules={"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]},
                rate_limit_exempt=rate_limit_exempt,
            ),
            edge_provider=ctx.edge,
            edge_provider_region=EDGE_REGION,
            origin_shield_region=ctx.region if spec.origin_shield else None,
            log_retention_days=spec.access_log_retention_days if spec.access_logs else None,
            realtime_log_config_arn=sampler.config_arn,
        ),
        opts=ctx.on_aws(),
    )
