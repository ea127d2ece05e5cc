"""The CDN against the seed's distribution.yaml, for both stacks, and its known traps."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.edge.cdn import PORTAL_ALB_PATHS, Cdn, CdnArgs, SecurityHeaders
from components.edge.cdn_policies import (
    CachePolicySpec,
    OriginRequestSpec,
    Ttls,
    api_origin_request,
    assets_origin_request,
    oac_bucket_policy,
)
from components.edge.cdn_policies import (
    cache_policies as all_cache_policies,
)
from components.edge.certificate import CertificateArgs, DnsValidatedCertificate
from components.edge.firewall import EdgeFirewallArgs
from stacks.loader import ConfigError
from stacks.schema.cdn import CdnConfig, ttls_by_role
from synth.mock_runtime import run_callable
from tests.conftest import PROJECT, load_config, program_run, section, section_problems, with_section
from tests.harness.checks import sample_key_access as key_access

SEED_TTLS = {  # (min, default, max) from infrastructure/cloudfront/distribution.yaml
    "Static": (3600, 86400, 31536000),
    "LongCache": (86400, 604800, 31536000),
    "API": (0, 0, 1),
}


def cache_policies(run):
    return {p.inputs["name"].rsplit("-", 1)[1]: p.inputs for p in run.of_type("aws:cloudfront/cachePolicy:CachePolicy")}


def portal(run):
    """The portal's distribution (apex, www, the API's host); Odoo's is test_odoo_routes.py's."""
    return run.named(f"sd-{run.stack}-cdn", "aws:cloudfront/distribution:Distribution")


def distribution(run):
    return portal(run).inputs


def behavior(run, pattern):
    return next(b for b in distribution(run)["orderedCacheBehaviors"] if b["pathPattern"] == pattern)


def policy_id(run, suffix):
    policies = run.of_type("aws:cloudfront/cachePolicy:CachePolicy")
    return next(f"{p.name}-id" for p in policies if p.inputs["name"].endswith(suffix))


def test_seed_cache_policy_ttls(run):
    policies = cache_policies(run)
    # The seed's three, our S3 images, and Odoo's files on its own host (test_odoo_routes.py).
    assert set(policies) == {"Static", "LongCache", "API", "Images", "OdooAssets"}
    for name, (low, default, high) in SEED_TTLS.items():
        policy = policies[name]
        assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (low, default, high)
    images = policies["Images"]
    assert images["minTtl"] <= images["defaultTtl"] <= images["maxTtl"] and images["defaultTtl"] >= 86400


def test_seed_cache_keys(run):
    policies = cache_policies(run)
    static = policies["Static"]["parametersInCacheKeyAndForwardedToOrigin"]
    assert static["cookiesConfig"]["cookieBehavior"] == "none"
    assert static["headersConfig"]["headerBehavior"] == "none"
    assert static["queryStringsConfig"]["queryStringBehavior"] == "none"
    assert static["enableAcceptEncodingGzip"] and static["enableAcceptEncodingBrotli"]

    long_cache = policies["LongCache"]["parametersInCacheKeyAndForwardedToOrigin"]
    assert long_cache["queryStringsConfig"] == {"queryStringBehavior": "whitelist", "queryStrings": {"items": ["v"]}}

    api = policies["API"]["parametersInCacheKeyAndForwardedToOrigin"]
    assert api["cookiesConfig"]["cookieBehavior"] == "all"
    assert api["headersConfig"] == {
        "headerBehavior": "whitelist",
        "headers": {"items": ["Authorization", "Accept", "Accept-Language"]},
    }
    assert api["queryStringsConfig"]["queryStringBehavior"] == "all"

    images = policies["Images"]["parametersInCacheKeyAndForwardedToOrigin"]
    assert not images["enableAcceptEncodingGzip"] and not images["enableAcceptEncodingBrotli"]


def test_distribution_top_level_as_seed(run):
    d = distribution(run)
    domain = section(run.stack, "cdn")["domain"]
    assert d["enabled"] is True and d["comment"] == "Smart Dairy CDN"
    assert d["defaultRootObject"] == "index.html"
    assert d["httpVersion"] == "http2and3" and d["isIpv6Enabled"] is True
    assert d["aliases"] == [domain, f"www.{domain}", f"api.{domain}"]
    assert d["priceClass"] == {"staging": "PriceClass_100", "prod": "PriceClass_200"}[run.stack]
    assert d["viewerCertificate"] == {
        "acmCertificateArn": d["viewerCertificate"]["acmCertificateArn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert d["viewerCertificate"]["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    # No distribution-wide error rewriting: it would turn the API's JSON 404s into HTML.
    assert "customErrorResponses" not in d
    assert d["webAclId"].startswith("arn:aws:wafv2:us-east-1:")
    assert d["loggingConfig"]["bucket"].endswith(".s3.amazonaws.com")


def test_origins(run):
    # The origins carry the secret origin header: the whole list is a secret in the inputs.
    assert distribution(run)["origins"] == "[secret]"
    s3, api = portal(run).plain_inputs["origins"]
    assert api["customHeaders"][0]["name"] == "X-Origin-Verify"
    assert s3["originId"] == "S3Origin" and s3["originAccessControlId"].endswith("-oac-id")
    assert ".s3.eu-west-1.amazonaws.com" in s3["domainName"] and "s3OriginConfig" not in s3
    assert api["originId"] == "APIOrigin"
    assert api["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert api["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert (api["customOriginConfig"]["httpPort"], api["customOriginConfig"]["httpsPort"]) == (80, 443)
    shield = run.stack == "prod"
    assert ("originShield" in s3) is shield and ("originShield" in api) is shield
    if shield:
        assert s3["originShield"] == {"enabled": True, "originShieldRegion": "eu-west-1"}


def test_default_behavior(run):
    default = distribution(run)["defaultCacheBehavior"]
    assert default["targetOriginId"] == "S3Origin"
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert default["allowedMethods"] == ["GET", "HEAD", "OPTIONS"] and default["cachedMethods"] == ["GET", "HEAD"]
    assert default["compress"] is True
    assert default["cachePolicyId"] == policy_id(run, "-Static")
    assert default["responseHeadersPolicyId"].endswith("-security-headers-id")


def test_ordered_behaviors(run):
    patterns = [b["pathPattern"] for b in distribution(run)["orderedCacheBehaviors"]]
    assert patterns == [*PORTAL_ALB_PATHS, "/static/*", "*.jpg", "*.png", "*.webp"]
    api = behavior(run, "/api/*")
    assert api["targetOriginId"] == "APIOrigin" and api["viewerProtocolPolicy"] == "https-only"
    assert api["allowedMethods"] == ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    assert api["cachedMethods"] == ["GET", "HEAD"] and api["compress"] is True
    assert api["cachePolicyId"] == policy_id(run, "-API")
    assert api["originRequestPolicyId"].endswith("-api-origin-request-id")
    static = behavior(run, "/static/*")
    assert static["cachePolicyId"] == policy_id(run, "-LongCache") and static["compress"] is True
    assert static["allowedMethods"] == ["GET", "HEAD"] and static["viewerProtocolPolicy"] == "redirect-to-https"
    for pattern in ("*.jpg", "*.png", "*.webp"):
        image = behavior(run, pattern)
        assert image["cachePolicyId"] == policy_id(run, "-Images")
        assert image["compress"] is False and image["viewerProtocolPolicy"] == "redirect-to-https"
        assert image["targetOriginId"] == "S3Origin"


def test_api_origin_request_policy_keeps_authorization_out(run):
    orp = run.named(
        f"sd-{run.stack}-cdn-api-origin-request", "aws:cloudfront/originRequestPolicy:OriginRequestPolicy"
    ).inputs
    assert orp["headersConfig"] == {"headerBehavior": "allExcept", "headers": {"items": ["host"]}}
    assert "authorization" not in json.dumps(orp).lower()


def test_security_headers(run):
    headers = run.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs["securityHeadersConfig"]
    assert headers["strictTransportSecurity"] == {
        "accessControlMaxAgeSec": 31536000,
        "includeSubdomains": True,
        "preload": True,
        "override": True,
    }
    assert headers["contentTypeOptions"] == {"override": True}
    assert headers["frameOptions"]["frameOption"] == "SAMEORIGIN"
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    csp = load_config(run.config).cdn.content_security_policy
    assert headers["contentSecurityPolicy"]["contentSecurityPolicy"] == csp


def test_static_bucket_hardening(run):
    buckets = run.of_type("aws:s3/bucket:Bucket")
    # The canaries' code and runs, the static assets, CloudFront's logs, and the ALB's access logs.
    assert sorted(b.name.removeprefix(f"sd-{run.stack}-") for b in buckets) == [
        "canaries-artifacts",
        "cdn-logs",
        "cdn-static",
        "ingress-alb-logs",
    ]
    for bpa in run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(bpa.inputs[f] is True for f in flags)
    controls = run.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    ownership = {o.name: o.inputs["rule"]["objectOwnership"] for o in controls}
    assert ownership[f"sd-{run.stack}-cdn-static-ownership"] == "BucketOwnerEnforced"
    # CloudFront standard logging writes through an ACL grant.
    assert ownership[f"sd-{run.stack}-cdn-logs-ownership"] == "BucketOwnerPreferred"
    for versioning in run.of_type("aws:s3/bucketVersioning:BucketVersioning"):
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    for sse in run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"):
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    for lifecycle in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] >= 1
    [cors] = run.of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors.inputs["corsRules"] == [
        {"allowedHeaders": ["*"], "allowedMethods": ["GET", "HEAD"], "allowedOrigins": ["*"], "maxAgeSeconds": 3600}
    ]


def test_bucket_policy_grants_only_this_distribution_over_tls(run):
    dist = portal(run)
    static_bucket = run.named(f"sd-{run.stack}-cdn-static", "aws:s3/bucket:Bucket")
    policy = json.loads(run.named(f"sd-{run.stack}-cdn-static-policy").inputs["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == f"arn:aws:s3:::{static_bucket.state['bucket']}/*"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": dist.state["arn"]}}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    log_policy = json.loads(run.named(f"sd-{run.stack}-cdn-logs-policy").inputs["policy"])
    assert log_policy["Statement"][0]["Sid"] == "DenyInsecureTransport"


def test_certificate_and_waf_use_the_us_east_1_provider(run):
    for name, type_ in (
        ("cdn-cert", "aws:acm/certificate:Certificate"),
        ("cdn-cert-validation", "aws:acm/certificateValidation:CertificateValidation"),
        ("cdn-waf", "aws:wafv2/webAcl:WebAcl"),
    ):
        resource = run.named(f"sd-{run.stack}-{name}", type_)
        assert run.provider_of(resource).inputs["region"] == "us-east-1", type_
    # The ALB's certificate is regional: ALBs take certificates from their own region.
    ingress_cert = run.named(f"sd-{run.stack}-ingress-cert", "aws:acm/certificate:Certificate")
    assert run.provider_of(ingress_cert).inputs["region"] == "eu-west-1"
    assert run.provider_of(portal(run)).inputs["region"] == "eu-west-1"


def test_certificate_dns_validation_and_aliases(run):
    domain = section(run.stack, "cdn")["domain"]
    cert = run.named(f"sd-{run.stack}-cdn-cert", "aws:acm/certificate:Certificate").inputs
    hosts = [f"www.{domain}", f"api.{domain}", f"erp.{domain}"]
    assert cert["domainName"] == domain and cert["subjectAlternativeNames"] == hosts
    assert cert["validationMethod"] == "DNS"
    records = [r for r in run.of_type("aws:route53/record:Record") if r.name.startswith(f"sd-{run.stack}-cdn-")]
    validation = [r for r in records if "-validation-" in r.name]
    assert sorted(r.inputs["name"] for r in validation) == sorted(f"_0123.{h}." for h in [domain, *hosts])
    aliases = {(r.inputs["name"], r.inputs["type"]): r.inputs["aliases"][0] for r in records if "aliases" in r.inputs}
    assert set(aliases) == {(h, t) for h in (domain, *hosts) for t in ("A", "AAAA")}
    # Each host points at its site's distribution: Odoo's host at Odoo's.
    odoo = run.named(f"sd-{run.stack}-cdn-odoo", "aws:cloudfront/distribution:Distribution")
    assert aliases[(f"erp.{domain}", "A")]["name"] == odoo.state["domainName"]
    assert aliases[(domain, "A")]["name"] == portal(run).state["domainName"]
    assert all(a["zoneId"] == "Z2FDTNDATAQYW2" for a in aliases.values())


def test_waf_rate_limit_and_managed_rules(run):
    acl = next(a for a in run.of_type("aws:wafv2/webAcl:WebAcl") if a.inputs["scope"] == "CLOUDFRONT").inputs
    assert acl["scope"] == "CLOUDFRONT" and "allow" in acl["defaultAction"]
    rate, *managed = acl["rules"]
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": {"staging": 1000, "prod": 2000}[run.stack],
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    assert "block" in rate["action"]
    names = [r["statement"]["managedRuleGroupStatement"]["name"] for r in managed]
    assert "AWSManagedRulesCommonRuleSet" in names and "AWSManagedRulesAmazonIpReputationList" in names
    common = next(r for r in managed if r["name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    assert len({r["priority"] for r in acl["rules"]}) == len(acl["rules"])


def test_monitoring_subscription_enables_cache_metrics(run):
    subscriptions = run.of_type("aws:cloudfront/monitoringSubscription:MonitoringSubscription")
    distributions = {f"{d.name}-id" for d in run.of_type("aws:cloudfront/distribution:Distribution")}
    assert {s.inputs["distributionId"] for s in subscriptions} == distributions
    for sub in subscriptions:
        config = sub.inputs["monitoringSubscription"]["realtimeMetricsSubscriptionConfig"]
        assert config["realtimeMetricsSubscriptionStatus"] == "Enabled"


@pytest.mark.parametrize("stack,protected", [("staging", False), ("prod", True)])
def test_buckets_protected_in_prod_only(stack, protected):
    run = program_run(stack)
    assert [b.protect for b in run.of_type("aws:s3/bucket:Bucket")] == [protected] * 4


# --- known traps, each refused with a clear error ----------------------------------------------


def test_trap_key_parameters_with_zero_max_ttl():
    [problem] = section_problems("prod", "cdn", ttls={"api": {"minTtl": 0, "defaultTtl": 0, "maxTtl": 0}})
    assert problem.startswith(f"{PROJECT}:cdn: ttls.api: puts headers, cookies or query strings in the cache key")
    assert "maxTtl must be > 0" in problem


def test_ttl_overrides_must_be_ordered():
    [problem] = section_problems(
        "prod", "cdn", ttls={"static": {"minTtl": 90000, "defaultTtl": 86400, "maxTtl": 31536000}}
    )
    assert "ttls.static: needs minTtl <= defaultTtl <= maxTtl, got 90000 / 86400 / 31536000" in problem


def test_price_class_lists_the_three_valid_values():
    [problem] = section_problems("prod", "cdn", priceClass="PriceClass_300")
    assert problem.startswith(f"{PROJECT}:cdn.priceClass = 'PriceClass_300'")
    assert "'PriceClass_100', 'PriceClass_200' or 'PriceClass_All'" in problem


def test_origin_shield_needs_a_region_that_has_it():
    config = with_section("prod", "aws:region", "eu-north-1")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    [problem] = caught.value.problems
    assert problem.startswith(f"{PROJECT}:cdn.originShield: CloudFront has no Origin Shield in eu-north-1")


def test_trap_authorization_in_an_origin_request_policy():
    spec = OriginRequestSpec("x", "x", header_behavior="whitelist", headers=("Authorization", "Origin"))
    assert spec.problems() == [
        "origin request policies cannot forward authorization; put it in the cache policy's headers "
        "instead (aws-cdk#13408)"
    ]


def test_trap_bucket_policy_must_name_the_distribution():
    with pytest.raises(ValueError, match="must name the distribution"):
        oac_bucket_policy("arn:aws:s3:::bucket", "arn:aws:s3:::bucket")
    policy = oac_bucket_policy("arn:aws:s3:::b", "arn:aws:cloudfront::123456789012:distribution/EABC123")
    assert policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"].endswith("/EABC123")


def _cdn_args(edge, region="us-east-1", origin_request=None) -> CdnArgs:
    config = CdnConfig.model_validate({"domain": "example.com", "hostedZoneId": "Z123"})
    return CdnArgs(
        domain="example.com",
        odoo_host="erp",
        api_host=None,
        hosted_zone_id="Z123",
        api_origin_domain="origin.example.com",
        origin_secret="not-a-real-secret",
        cache_policies=all_cache_policies("T", ttls_by_role(config.ttls)),
        api_origin_request=origin_request or api_origin_request("T"),
        assets_origin_request=assets_origin_request("T"),
        security_headers=SecurityHeaders(content_security_policy="default-src 'self'", frame_options="DENY"),
        firewall=EdgeFirewallArgs(
            rate_limit=100,
            log_retention_days=30,
            managed_rule_groups=["AWSManagedRulesCommonRuleSet"],
            key_access=key_access(),
            protect=False,
        ),
        edge_provider=edge,
        edge_provider_region=region,
        price_class="PriceClass_100",
        origin_shield_region=None,
        log_retention_days=None,
        protect=False,
    )


def test_trap_component_refuses_a_non_us_east_1_edge_provider():
    def program():
        Cdn("t", _cdn_args(aws.Provider("edge", region="eu-west-1"), region="eu-west-1"))

    with pytest.raises(ValueError, match="must be created in us-east-1"):
        run_callable(program)


def test_trap_component_refuses_authorization_in_origin_request_policy():
    bad = OriginRequestSpec("x", "x", header_behavior="whitelist", headers=("authorization",))

    def program():
        Cdn("t", _cdn_args(aws.Provider("edge", region="us-east-1"), origin_request=bad))

    with pytest.raises(ValueError, match="origin request policy: origin request policies cannot forward authorization"):
        run_callable(program)


def test_trap_component_refuses_key_parameters_with_zero_ttl():
    spec = CachePolicySpec(
        "x", "x", Ttls.model_validate({"minTtl": 0, "defaultTtl": 0, "maxTtl": 0}), headers=("Accept",)
    )
    assert spec.problems() and "maxTtl must be > 0" in spec.problems()[0]


def test_edge_certificate_refuses_other_regions():
    def program():
        DnsValidatedCertificate(
            "c",
            CertificateArgs(
                domain="example.com",
                alternative_names=[],
                hosted_zone_id="Z1",
                provider_region="eu-west-1",
                required_region="us-east-1",
            ),
            opts=pulumi.ResourceOptions(provider=aws.Provider("p", region="eu-west-1")),
        )

    with pytest.raises(ValueError, match="CloudFront only accepts ACM certificates from us-east-1"):
        run_callable(program)


def test_destroy_leaves_the_replicated_edge_function_instead_of_failing(run):
    """AWS refuses to delete a Lambda@Edge function until CloudFront's replicas are gone (hours)."""
    [function] = [f for f in run.of_type("aws:lambda/function:Function") if f.name.endswith("cdn-not-found")]
    assert function.inputs["skipDestroy"] is True and function.inputs["publish"] is True


def test_an_unprotected_stacks_buckets_empty_themselves_on_destroy_and_prods_never(run):
    """Static files, logs and canary runs are re-created: staging's destroy empties them; prod's refuses."""
    buckets = [b for b in run.of_type("aws:s3/bucket:Bucket")]
    names = {b.name.removeprefix(f"sd-{run.stack}-") for b in buckets}
    assert names == {"cdn-static", "cdn-logs", "ingress-alb-logs", "canaries-artifacts"}
    for bucket in buckets:
        assert bucket.inputs.get("forceDestroy", False) is (not bucket.protect), bucket.name
    assert {b.protect for b in buckets} == {run.stack == "prod"}


def test_a_protected_bucket_never_empties_itself():
    from components.aws.private_bucket import PrivateBucketArgs

    with pytest.raises(ValueError, match="never empties itself"):
        PrivateBucketArgs(protect=True, empty_on_destroy=True)
