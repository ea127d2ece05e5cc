"""CloudFront in front of the S3 static assets and the API origin (the seed's
`infrastructure/cloudfront/distribution.yaml`, with Origin Access Control instead of the legacy
OAI, and edge protection the seed leaves out)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.private_bucket import ACCESS_LOG_PREFIX, PrivateBucket, PrivateBucketArgs
from components.edge.cdn_policies import ORIGIN_HEADER, CachePolicySpec, OriginRequestSpec, oac_bucket_policy
from components.edge.certificate import EDGE_REGION, CertificateArgs, DnsValidatedCertificate
from components.edge.firewall import EdgeFirewall, EdgeFirewallArgs
from components.edge.static_not_found import static_not_found_function

cf = aws.cloudfront

S3_ORIGIN = "S3Origin"
API_ORIGIN = "APIOrigin"
#: What the portal's hosts (apex, www, the API's) send to the ALB: the API. The rest is S3's.
PORTAL_ALB_PATHS = ("/api/*",)
#: On Odoo's host every path goes to the ALB, uncached, with every method; these are cached
#: as Odoo's Cache-Control says, by the policy of that role (cdn_policies.odoo_cache_policies).
ODOO_CACHED_PATHS = {"/web/assets/*": "odoo_assets", "/*/static/*": "odoo_assets"}
CACHE_POLICY_ROLES = ("static", "long_cache", "image", "api", "odoo_assets")
#: Odoo builds its URLs from the host it is told: the ALB is reached as origin.<domain>, so
#: Odoo's distribution names the viewer's host in this header (Odoo's proxy_mode reads it; an
#: origin's custom header replaces any the viewer sent).
FORWARDED_HOST = "X-Forwarded-Host"
GET_HEAD = ["GET", "HEAD"]
GET_HEAD_OPTIONS = ["GET", "HEAD", "OPTIONS"]
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
#: Route 53 alias target zone shared by every CloudFront distribution.
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


@dataclass(frozen=True)
class SecurityHeaders:
    #: Content-Security-Policy of every response.
    content_security_policy: str
    #: DENY or SAMEORIGIN (Odoo's website editor frames its own pages).
    frame_options: str
    referrer_policy: str = "strict-origin-when-cross-origin"
    hsts_max_age_seconds: int = 31536000


@dataclass(frozen=True)
class Site:
    """One distribution: the hosts it answers, its behaviours and where its access logs go."""

    hosts: list[str]
    default: aws.cloudfront.DistributionDefaultCacheBehaviorArgs
    ordered: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs]
    origins: list[aws.cloudfront.DistributionOriginArgs]
    comment: str
    log_prefix: str
    #: What `/` serves from S3 (the portal's index.html); None: the origin answers `/` itself.
    root_object: str | None = None


@dataclass(frozen=True)
class CdnArgs:
    #: Apex served by CloudFront (www. too) and its public hosted zone.
    domain: str
    #: Odoo's host label: <odoo_host>.<domain> sends every path to the ALB.
    odoo_host: str
    #: The API's own host label (/api/* as on the apex); None: none.
    api_host: str | None
    #: The domain's public hosted zone.
    hosted_zone_id: str
    #: Hostname of the API origin (the ALB in front of Odoo and the gateway).
    api_origin_domain: pulumi.Input[str]
    #: The secret header value the ALB requires (AppIngress.origin_secret).
    origin_secret: pulumi.Input[str]
    #: Keys: static, long_cache, image, api.
    cache_policies: Mapping[str, CachePolicySpec]
    #: Origin request policy of /api/* (all viewer headers but Host).
    api_origin_request: OriginRequestSpec
    #: Origin request policy of Odoo's cached files (no cookies: no Set-Cookie gets cached).
    assets_origin_request: OriginRequestSpec
    #: Security response headers of every response.
    security_headers: SecurityHeaders
    #: The CLOUDFRONT-scope web ACL.
    firewall: EdgeFirewallArgs
    #: us-east-1 provider for the certificate and the CLOUDFRONT-scope web ACL.
    edge_provider: aws.Provider
    #: That provider's region, us-east-1 (checked).
    edge_provider_region: str
    #: PriceClass_100 | PriceClass_200 | PriceClass_All.
    price_class: str
    #: Origin Shield region (the origins' region); None disables it.
    origin_shield_region: str | None
    #: Days to keep standard access logs; None disables logging.
    log_retention_days: int | None
    #: Pulumi `protect` on the buckets.
    protect: bool
    #: The real-time log config the cacheable behaviours sample into (the cache-hit rate).
    realtime_log_config_arn: pulumi.Input[str] | None = None


class Cdn(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:cdn:Cdn"

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None):
        _refuse_known_traps(name, args)
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)

        assets, logs = self._buckets(name, args)
        portal, odoo = self._sites(name, args, assets)
        certificate = DnsValidatedCertificate(
            f"{name}-cert",
            CertificateArgs(
                domain=args.domain,
                alternative_names=[*portal.hosts[1:], *odoo.hosts],
                hosted_zone_id=args.hosted_zone_id,
                provider_region=args.edge_provider_region,
                required_region=EDGE_REGION,
            ),
            opts=edge,
        )
        firewall = EdgeFirewall(f"{name}-waf", args.firewall, opts=edge)
        distribution = self._distribution(name, args, portal, logs, certificate, firewall)
        odoo_distribution = self._distribution(f"{name}-odoo", args, odoo, logs, certificate, firewall)
        self._grant_reads(name, assets, distribution)
        self._publish(name, args, portal, distribution)
        self._publish(f"{name}-odoo", args, odoo, odoo_distribution)

        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.domain_name = distribution.domain_name
        #: Odoo's distribution (its host: every path to the ALB).
        self.odoo_distribution_id = odoo_distribution.id
        self.odoo_host = odoo.hosts[0]
        self.static_bucket_name = assets.bucket
        self.certificate_arn = certificate.certificate_arn
        self.web_acl_arn = firewall.arn
        self.register_outputs(
            {
                "distributionId": self.distribution_id,
                "distributionArn": self.distribution_arn,
                "domainName": self.domain_name,
                "odooDistributionId": self.odoo_distribution_id,
                "staticBucketName": self.static_bucket_name,
                "certificateArn": self.certificate_arn,
                "webAclArn": self.web_acl_arn,
            }
        )

    def _buckets(self, name: str, args: CdnArgs) -> tuple[PrivateBucket, PrivateBucket | None]:
        """The static assets (read by CloudFront only, through OAC) and, if kept, the access logs."""
        child = pulumi.ResourceOptions(parent=self)
        assets = PrivateBucket(
            f"{name}-static",
            PrivateBucketArgs(
                cors_rules=[
                    aws.s3.BucketCorsConfigurationCorsRuleArgs(
                        allowed_headers=["*"], allowed_methods=GET_HEAD, allowed_origins=["*"], max_age_seconds=3600
                    )
                ],
                attach_tls_only_policy=False,
                protect=args.protect,
                # Re-created by the deploy: an unprotected stack's destroy empties it.
                empty_on_destroy=not args.protect,
            ),
            opts=child,
        )
        logs = (
            PrivateBucket(
                f"{name}-logs",
                PrivateBucketArgs(
                    object_ownership="BucketOwnerPreferred",
                    expiration_days=args.log_retention_days,
                    noncurrent_version_expiration_days=1,
                    access_log_sources=[assets.arn],
                    protect=args.protect,
                    empty_on_destroy=not args.protect,
                ),
                opts=child,
            )
            if args.log_retention_days
            else None
        )
        if logs is not None:
            # Who read or wrote which asset, beside CloudFront's own logs (FSBP S3.9).
            aws.s3.BucketLogging(
                f"{name}-static-access-logs",
                bucket=assets.bucket,
                target_bucket=logs.bucket,
                target_prefix=pulumi.Output.concat(ACCESS_LOG_PREFIX, assets.bucket, "/"),
                opts=child,
            )
        return assets, logs

    def _sites(self, name: str, args: CdnArgs, assets: PrivateBucket) -> tuple[Site, Site]:
        """The portal (apex, www, the API's host): S3 by default, the seed's long caching for
        /static/* and images, /api/* to the ALB. Odoo's host: every path to the ALB with every
        method, its assets and images cached as Odoo says."""
        behaviors = self._behaviors(name, args)
        odoo_host = f"{args.odoo_host}.{args.domain}"
        s3_origin, alb_origin, odoo_origin = self._origins(name, args, assets, odoo_host)
        api_host = [f"{args.api_host}.{args.domain}"] if args.api_host else []
        portal = Site(
            hosts=[args.domain, f"www.{args.domain}", *api_host],
            default=behaviors.default(),
            ordered=[
                *(behaviors.api(pattern) for pattern in PORTAL_ALB_PATHS),
                behaviors.s3("/static/*", "long_cache", compress=True),
                *(behaviors.s3(pattern, "image", compress=False) for pattern in ("*.jpg", "*.png", "*.webp")),
            ],
            origins=[s3_origin, alb_origin],
            comment="Smart Dairy CDN",
            log_prefix="cloudfront/",
            root_object="index.html",
        )
        odoo = Site(
            hosts=[odoo_host],
            default=behaviors.alb_default(),
            ordered=[behaviors.odoo_cached(pattern, role) for pattern, role in ODOO_CACHED_PATHS.items()],
            origins=[odoo_origin],
            comment="Smart Dairy Odoo",
            log_prefix="cloudfront-odoo/",
        )
        return portal, odoo

    def _distribution(
        self,
        name: str,
        args: CdnArgs,
        site: Site,
        logs: PrivateBucket | None,
        certificate: DnsValidatedCertificate,
        firewall: EdgeFirewall,
    ) -> aws.cloudfront.Distribution:
        """One distribution of a site, with the certificate and web ACL every site shares."""
        return cf.Distribution(
            name,
            enabled=True,
            comment=site.comment,
            default_root_object=site.root_object,
            price_class=args.price_class,
            http_version="http2and3",
            is_ipv6_enabled=True,
            aliases=site.hosts,
            origins=site.origins,
            default_cache_behavior=site.default,
            ordered_cache_behaviors=site.ordered,
            restrictions=cf.DistributionRestrictionsArgs(
                geo_restriction=cf.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=cf.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021",
            ),
            logging_config=(
                cf.DistributionLoggingConfigArgs(bucket=logs.domain_name, prefix=site.log_prefix, include_cookies=False)
                if logs
                else None
            ),
            web_acl_id=firewall.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _behaviors(self, name: str, args: CdnArgs) -> _Behaviors:
        """The policies the behaviours name: cache policies by role, the API's origin request
        policy, the security headers, and the friendly 404 for S3 misses only (a
        distribution-wide custom error response would also rewrite the gateway's JSON 404s)."""
        return _Behaviors(
            cache_policy_ids={
                role: self._cache_policy(f"{name}-{role.replace('_', '-')}", spec).id
                for role, spec in args.cache_policies.items()
            },
            api_request_id=self._origin_request_policy(f"{name}-api-origin-request", args.api_origin_request).id,
            assets_request_id=self._origin_request_policy(
                f"{name}-odoo-assets-origin-request", args.assets_origin_request
            ).id,
            headers_id=self._headers_policy(f"{name}-security-headers", args.security_headers).id,
            cacheable_log=args.realtime_log_config_arn,
            not_found=static_not_found_function(
                f"{name}-not-found", self, pulumi.ResourceOptions(parent=self, provider=args.edge_provider)
            ),
        )

    def _origins(
        self, name: str, args: CdnArgs, assets: PrivateBucket, odoo_host: str
    ) -> tuple[
        aws.cloudfront.DistributionOriginArgs,
        aws.cloudfront.DistributionOriginArgs,
        aws.cloudfront.DistributionOriginArgs,
    ]:
        """S3 through origin access control; the ALB by its origin name with the secret header
        it requires (edge/origin_guard.py); the ALB again for Odoo's host, also naming that host
        to Odoo. All behind Origin Shield when set."""
        oac = cf.OriginAccessControl(
            f"{name}-oac",
            description="CloudFront reads the static bucket with SigV4",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=pulumi.ResourceOptions(parent=self),
        )
        shield = (
            cf.DistributionOriginOriginShieldArgs(enabled=True, origin_shield_region=args.origin_shield_region)
            if args.origin_shield_region
            else None
        )
        s3 = cf.DistributionOriginArgs(
            origin_id=S3_ORIGIN,
            domain_name=assets.regional_domain_name,
            origin_access_control_id=oac.id,
            origin_shield=shield,
        )
        guard = cf.DistributionOriginCustomHeaderArgs(name=ORIGIN_HEADER, value=args.origin_secret)
        forwarded = cf.DistributionOriginCustomHeaderArgs(name=FORWARDED_HOST, value=odoo_host)
        return s3, _alb_origin(args, shield, [guard]), _alb_origin(args, shield, [guard, forwarded])

    def _grant_reads(self, name: str, assets: PrivateBucket, distribution: aws.cloudfront.Distribution) -> None:
        """Let the portal's distribution (and only it) read the static bucket."""
        aws.s3.BucketPolicy(
            f"{name}-static-policy",
            bucket=assets.bucket,
            policy=pulumi.Output.all(assets.arn, distribution.arn).apply(
                lambda arns: json.dumps(oac_bucket_policy(*arns))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[assets.public_access_block]),
        )

    def _publish(self, name: str, args: CdnArgs, site: Site, distribution: aws.cloudfront.Distribution) -> None:
        """Turn on a distribution's metrics and point its site's hosts at it."""
        child = pulumi.ResourceOptions(parent=self)
        edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)
        # Cache hit rate and error-rate metrics in CloudWatch (seed target: hit rate > 80 %).
        cf.MonitoringSubscription(
            f"{name}-monitoring",
            distribution_id=distribution.id,
            monitoring_subscription=cf.MonitoringSubscriptionMonitoringSubscriptionArgs(
                realtime_metrics_subscription_config=cf.MonitoringSubscriptionMonitoringSubscriptionRealtimeMetricsSubscriptionConfigArgs(
                    realtime_metrics_subscription_status="Enabled"
                )
            ),
            opts=edge,
        )
        for host in site.hosts:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-{host}-{record_type.lower()}",
                    zone_id=args.hosted_zone_id,
                    name=host,
                    type=record_type,
                    aliases=[
                        aws.route53.RecordAliasArgs(
                            name=distribution.domain_name, zone_id=CLOUDFRONT_ZONE_ID, evaluate_target_health=False
                        )
                    ],
                    opts=child,
                )

    def _cache_policy(self, name: str, spec: CachePolicySpec) -> aws.cloudfront.CachePolicy:
        keys = cf.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs
        return cf.CachePolicy(
            name,
            name=spec.name,
            comment=spec.comment,
            min_ttl=spec.ttls.min_ttl,
            default_ttl=spec.ttls.default_ttl,
            max_ttl=spec.ttls.max_ttl,
            parameters_in_cache_key_and_forwarded_to_origin=keys(
                enable_accept_encoding_gzip=spec.compress,
                enable_accept_encoding_brotli=spec.compress,
                cookies_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior=spec.cookies,
                    cookies=(
                        cf.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigCookiesArgs(
                            items=list(spec.cookie_names)
                        )
                        if spec.cookie_names
                        else None
                    ),
                ),
                headers_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="whitelist" if spec.headers else "none",
                    headers=(
                        cf.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigHeadersArgs(
                            items=list(spec.headers)
                        )
                        if spec.headers
                        else None
                    ),
                ),
                query_strings_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior=spec.query_strings,
                    query_strings=(
                        cf.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigQueryStringsArgs(
                            items=list(spec.query_string_names)
                        )
                        if spec.query_string_names
                        else None
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _origin_request_policy(self, name: str, spec: OriginRequestSpec) -> aws.cloudfront.OriginRequestPolicy:
        return cf.OriginRequestPolicy(
            name,
            name=spec.name,
            comment=spec.comment,
            headers_config=cf.OriginRequestPolicyHeadersConfigArgs(
                header_behavior=spec.header_behavior,
                headers=(
                    cf.OriginRequestPolicyHeadersConfigHeadersArgs(items=list(spec.headers)) if spec.headers else None
                ),
            ),
            cookies_config=cf.OriginRequestPolicyCookiesConfigArgs(cookie_behavior=spec.cookies),
            query_strings_config=cf.OriginRequestPolicyQueryStringsConfigArgs(query_string_behavior=spec.query_strings),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _headers_policy(self, name: str, spec: SecurityHeaders) -> aws.cloudfront.ResponseHeadersPolicy:
        security = cf.ResponseHeadersPolicySecurityHeadersConfigArgs
        return cf.ResponseHeadersPolicy(
            name,
            name=name,
            comment="HSTS, CSP, nosniff, frame and referrer policy on every response",
            security_headers_config=security(
                strict_transport_security=cf.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=spec.hsts_max_age_seconds,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cf.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(override=True),
                frame_options=cf.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option=spec.frame_options, override=True
                ),
                referrer_policy=cf.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy=spec.referrer_policy, override=True
                ),
                content_security_policy=cf.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=spec.content_security_policy, override=True
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _alb_origin(
    args: CdnArgs,
    shield: aws.cloudfront.DistributionOriginOriginShieldArgs | None,
    headers: list[aws.cloudfront.DistributionOriginCustomHeaderArgs],
) -> aws.cloudfront.DistributionOriginArgs:
    return cf.DistributionOriginArgs(
        origin_id=API_ORIGIN,
        custom_headers=headers,
        domain_name=args.api_origin_domain,
        custom_origin_config=cf.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
            origin_keepalive_timeout=60,
            origin_read_timeout=60,
        ),
        origin_shield=shield,
    )


def _refuse_known_traps(name: str, args: CdnArgs) -> None:
    problems = [f"cache policy {role}: {p}" for role, spec in args.cache_policies.items() for p in spec.problems()]
    problems += [
        f"origin request policy: {p}"
        for spec in (args.api_origin_request, args.assets_origin_request)
        for p in spec.problems()
    ]
    missing = sorted(set(CACHE_POLICY_ROLES) - set(args.cache_policies))
    if missing:
        problems.append(f"cache policies missing for {', '.join(missing)}")
    if args.edge_provider_region != "us-east-1":
        problems.append(
            f"the edge provider is for {args.edge_provider_region}; CloudFront certificates and "
            "CLOUDFRONT-scope web ACLs must be created in us-east-1"
        )
    if problems:
        raise ValueError(f"{name}: " + "; ".join(problems))


@dataclass(frozen=True)
class _Behaviors:
    """Cache behaviours from the policies they name."""

    cache_policy_ids: Mapping[str, pulumi.Input[str]]
    api_request_id: pulumi.Input[str]
    assets_request_id: pulumi.Input[str]
    headers_id: pulumi.Input[str]
    #: The origin-response function that serves the friendly 404 on S3 misses.
    not_found: pulumi.Input[str]
    #: The real-time log config of the cacheable behaviours (None: not sampled).
    cacheable_log: pulumi.Input[str] | None = None

    def default(self) -> aws.cloudfront.DistributionDefaultCacheBehaviorArgs:
        return cf.DistributionDefaultCacheBehaviorArgs(
            target_origin_id=S3_ORIGIN,
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=GET_HEAD_OPTIONS,
            cached_methods=GET_HEAD,
            compress=True,
            cache_policy_id=self.cache_policy_ids["static"],
            response_headers_policy_id=self.headers_id,
            realtime_log_config_arn=self.cacheable_log,
            lambda_function_associations=[
                cf.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type="origin-response", lambda_arn=self.not_found
                )
            ],
        )

    def s3(self, pattern: str, role: str, compress: bool) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgs:
        return cf.DistributionOrderedCacheBehaviorArgs(
            lambda_function_associations=[
                cf.DistributionOrderedCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type="origin-response", lambda_arn=self.not_found
                )
            ],
            path_pattern=pattern,
            target_origin_id=S3_ORIGIN,
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=GET_HEAD,
            cached_methods=GET_HEAD,
            cache_policy_id=self.cache_policy_ids[role],
            response_headers_policy_id=self.headers_id,
            realtime_log_config_arn=self.cacheable_log,
            compress=compress,
        )

    def api(self, pattern: str) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgs:
        return cf.DistributionOrderedCacheBehaviorArgs(
            path_pattern=pattern, viewer_protocol_policy="https-only", **self._to_alb("api", ALL_METHODS)
        )

    def alb_default(self) -> aws.cloudfront.DistributionDefaultCacheBehaviorArgs:
        """Odoo's host: whatever no cached path takes goes to Odoo, uncached, with every method
        (chatter posts, reports, the bus, the website's forms)."""
        return cf.DistributionDefaultCacheBehaviorArgs(
            viewer_protocol_policy="redirect-to-https", **self._to_alb("api", ALL_METHODS)
        )

    def odoo_cached(self, pattern: str, role: str) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgs:
        """Odoo's module files and bundles: read-only, cached as Odoo's Cache-Control says, asked
        for without cookies (so no Set-Cookie is cached)."""
        return cf.DistributionOrderedCacheBehaviorArgs(
            path_pattern=pattern,
            viewer_protocol_policy="redirect-to-https",
            realtime_log_config_arn=self.cacheable_log,
            **self._to_alb(role, GET_HEAD, self.assets_request_id),
        )

    def _to_alb(self, role: str, methods: list[str], request_id: pulumi.Input[str] | None = None) -> dict:
        return {
            "target_origin_id": API_ORIGIN,
            "allowed_methods": methods,
            "cached_methods": GET_HEAD,
            "cache_policy_id": self.cache_policy_ids[role],
            "origin_request_policy_id": request_id or self.api_request_id,
            "response_headers_policy_id": self.headers_id,
            "compress": True,
        }
