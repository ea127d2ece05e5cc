"""CloudFront and S3 rules."""

from __future__ import annotations

from registry import RECOMMENDATION, as_list, json_document, of_type, resource_rule, stack_rule

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
DEFAULT_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
DEPRECATED_SSL = {"SSLv3", "TLSv1", "TLSv1.1"}


def _behaviors(props):
    return [props.get("defaultCacheBehavior") or {}, *as_list(props.get("orderedCacheBehaviors"))]


def _s3_origins(props) -> set[str]:
    return {
        origin.get("originId")
        for origin in as_list(props.get("origins"))
        if ".s3." in str(origin.get("domainName", "")) or origin.get("originAccessControlId")
    }


@resource_rule("cloudfront-default-root-object", [DISTRIBUTION], control="CloudFront.1", severity="medium")
def default_root_object(props, config):
    """A distribution whose default behaviour serves S3 sets a default root object. One whose
    default is an application (Odoo's host) lets the application answer `/`: a root object would
    send `/` to `/index.html` there."""
    default_origin = (props.get("defaultCacheBehavior") or {}).get("targetOriginId")
    if default_origin in _s3_origins(props) and not props.get("defaultRootObject"):
        yield "set defaultRootObject (e.g. index.html) so the bare domain does not list or error"


@resource_rule("cloudfront-s3-read-only", [DISTRIBUTION])
def s3_read_only(props, config):
    """Behaviours that serve S3 allow GET, HEAD and OPTIONS only: a write method there is
    refused by the bucket at best, and means an application route fell through to S3."""
    s3 = _s3_origins(props)
    for behavior in _behaviors(props):
        writes = sorted(set(as_list(behavior.get("allowedMethods"))) - {"GET", "HEAD", "OPTIONS"})
        if behavior.get("targetOriginId") in s3 and writes:
            yield f"behavior {behavior.get('pathPattern', 'default')} sends {', '.join(writes)} to S3"


@resource_rule("cloudfront-viewer-https", [DISTRIBUTION], control="CloudFront.3")
def viewer_https(props, config):
    """CloudFront requires HTTPS from viewers."""
    for behavior in _behaviors(props):
        if behavior.get("viewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
            yield f"behavior {behavior.get('pathPattern', 'default')} allows plain HTTP"


@resource_rule("cloudfront-origin-https", [DISTRIBUTION], control="CloudFront.9")
def origin_https(props, config):
    """CloudFront talks to custom origins over HTTPS only."""
    for origin in as_list(props.get("origins")):
        custom = origin.get("customOriginConfig")
        if custom and custom.get("originProtocolPolicy") != "https-only":
            yield f"origin {origin.get('originId')} uses {custom.get('originProtocolPolicy')}; use https-only"


@resource_rule("cloudfront-no-deprecated-origin-ssl", [DISTRIBUTION], control="CloudFront.10")
def origin_ssl(props, config):
    """CloudFront does not use deprecated SSL/TLS protocols to origins."""
    for origin in as_list(props.get("origins")):
        old = DEPRECATED_SSL & set(as_list((origin.get("customOriginConfig") or {}).get("originSslProtocols")))
        if old:
            yield f"origin {origin.get('originId')} allows {', '.join(sorted(old))}"


@resource_rule("cloudfront-tls-certificate", [DISTRIBUTION], control="CloudFront.7/CloudFront.8")
def viewer_certificate(props, config):
    """CloudFront serves our own ACM certificate via SNI with TLSv1.2_2021 at least."""
    cert = props.get("viewerCertificate") or {}
    if not cert.get("acmCertificateArn"):
        yield "use a custom ACM certificate, not the default *.cloudfront.net one"
    if cert.get("sslSupportMethod") != "sni-only":
        yield "sslSupportMethod must be sni-only (dedicated IPs are legacy and costly)"
    if cert.get("minimumProtocolVersion") not in ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"):
        yield f"minimumProtocolVersion {cert.get('minimumProtocolVersion')} is below TLSv1.2_2021"


@resource_rule(
    "cloudfront-access-logging", [DISTRIBUTION], control="CloudFront.5", kind=RECOMMENDATION, severity="medium"
)
def access_logging(props, config):
    """CloudFront writes access logs."""
    if not (props.get("loggingConfig") or {}).get("bucket"):
        yield "enable standard logging (loggingConfig.bucket)"


@resource_rule("cloudfront-waf", [DISTRIBUTION], control="CloudFront.6")
def waf(props, config):
    """CloudFront is protected by a WAF web ACL."""
    if not props.get("webAclId"):
        yield "attach a WAFv2 web ACL (webAclId)"


@resource_rule("cloudfront-s3-origin-oac", [DISTRIBUTION], control="CloudFront.13")
def s3_origin_oac(props, config):
    """S3 origins use Origin Access Control, not OAI or public."""
    for origin in as_list(props.get("origins")):
        if ".s3." in str(origin.get("domainName", "")) and not origin.get("originAccessControlId"):
            yield f"S3 origin {origin.get('originId')} has no originAccessControlId"


@resource_rule("cloudfront-cache-key-needs-ttl", ["aws:cloudfront/cachePolicy:CachePolicy"])
def cache_key_ttl(props, config):
    """A cache policy that keys on headers, cookies or query strings has max TTL > 0 (else
    CloudFront rejects it)."""
    keys = props.get("parametersInCacheKeyAndForwardedToOrigin") or {}
    keyed = (
        (keys.get("headersConfig") or {}).get("headerBehavior", "none") != "none"
        or (keys.get("cookiesConfig") or {}).get("cookieBehavior", "none") != "none"
        or (keys.get("queryStringsConfig") or {}).get("queryStringBehavior", "none") != "none"
    )
    if keyed and props.get("maxTtl", 0) == 0:
        yield "cache key has headers, cookies or query strings but maxTtl is 0; use maxTtl >= 1"


@resource_rule("cloudfront-authorization-in-cache-policy", ["aws:cloudfront/originRequestPolicy:OriginRequestPolicy"])
def authorization_header(props, config):
    """Authorization is forwarded through the cache policy; origin request policies cannot carry
    it."""
    headers = props.get("headersConfig") or {}
    if headers.get("headerBehavior") in ("whitelist", "allViewerAndWhitelistCloudFront"):
        names = [h.lower() for h in as_list((headers.get("headers") or {}).get("items"))]
        if "authorization" in names:
            yield "Authorization in an origin request policy is rejected; put it in the cache policy (aws-cdk#13408)"


@resource_rule("s3-block-public-access", [PUBLIC_ACCESS_BLOCK], control="S3.8", severity="critical")
def block_public_access(props, config):
    """All four S3 Block Public Access settings are on."""
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        if props.get(flag) is not True:
            yield f"{flag} must be true"


@resource_rule("s3-no-acls", [OWNERSHIP_CONTROLS], control="S3.12", severity="medium")
def no_acls(props, config):
    """S3 buckets disable ACLs (BucketOwnerEnforced), except log buckets CloudFront writes with an
    ACL."""
    ownership = (props.get("rule") or {}).get("objectOwnership")
    exempt = str(props.get("bucket", "")).find("-logs") >= 0
    if ownership != "BucketOwnerEnforced" and not exempt:
        yield f"objectOwnership {ownership}: use BucketOwnerEnforced"


@resource_rule("s3-encryption", [DEFAULT_ENCRYPTION], control="S3.17", severity="medium")
def encryption(props, config):
    """S3 default encryption is SSE-S3 or SSE-KMS."""
    rules = as_list(props.get("rules"))
    algorithms = {(r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for r in rules}
    if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
        yield "set a default encryption rule (AES256 or aws:kms)"


def _buckets_covered(resources, type_, accept=lambda props: True) -> set[str]:
    """URNs of the buckets that a `type_` resource accepted by `accept` points at. Matched by
    property dependency, so it works in a preview where bucket names are still unknown."""
    return {
        bucket.urn
        for r in resources
        if r.resource_type == type_ and accept(r.props)
        for bucket in r.property_dependencies.get("bucket", [])
    }


@stack_rule("s3-deny-insecure-transport", control="S3.5")
def deny_insecure_transport(resources, config):
    """Every bucket's policy denies requests without TLS."""

    def denies_http(props):
        for statement in as_list(json_document(props.get("policy")).get("Statement")):
            condition = (statement.get("Condition") or {}).get("Bool", {})
            if statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false":
                return True
        return False

    covered = _buckets_covered(resources, "aws:s3/bucketPolicy:BucketPolicy", denies_http)
    for bucket in (r for r in resources if r.resource_type == BUCKET):
        if bucket.urn not in covered:
            yield bucket.urn, "no bucket policy denying aws:SecureTransport=false"


@stack_rule("s3-versioning-and-lifecycle", control="S3.14", kind=RECOMMENDATION, severity="medium")
def versioning_and_lifecycle(resources, config):
    """Buckets are versioned and expire old versions."""
    versioned = _buckets_covered(
        resources,
        "aws:s3/bucketVersioning:BucketVersioning",
        lambda p: (p.get("versioningConfiguration") or {}).get("status") == "Enabled",
    )
    lifecycle = _buckets_covered(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    for bucket in (r for r in resources if r.resource_type == BUCKET):
        if bucket.urn not in versioned:
            yield bucket.urn, "versioning is not enabled"
        if bucket.urn not in lifecycle:
            yield bucket.urn, "no lifecycle configuration (noncurrent versions grow forever)"


@stack_rule("waf-logging", control="WAF.11", severity="medium")
def waf_logging(resources, config):
    """Every web ACL logs its requests, with the Authorization and Cookie headers redacted."""
    acls = [r for r in resources if r.resource_type == "aws:wafv2/webAcl:WebAcl"]
    logging = [
        r for r in resources if r.resource_type == "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
    ]
    for acl in acls:
        configs = [c for c in logging if acl in c.property_dependencies.get("resourceArn", [])]
        if not configs:
            yield acl.urn, "no WebAclLoggingConfiguration for this web ACL"
        for c in configs:
            redacted = {
                (f.get("singleHeader") or {}).get("name", "").lower() for f in as_list(c.props.get("redactedFields"))
            }
            missing = {"authorization", "cookie"} - redacted
            if missing:
                yield c.urn, f"redact the {', '.join(sorted(missing))} header(s) from the logs"


@stack_rule("s3-access-logging", control="S3.9", severity="medium")
def s3_access_logging(resources, config):
    """Buckets CloudFront serves from keep S3 server access logs."""
    logged = {
        bucket.urn
        for logging in of_type(resources, "aws:s3/bucketLogging:BucketLogging")
        for bucket in logging.property_dependencies.get("bucket", [])
    }
    for distribution in of_type(resources, DISTRIBUTION):
        for origin in distribution.property_dependencies.get("origins", []):
            if origin.resource_type == BUCKET and origin.urn not in logged:
                yield origin.urn, "CloudFront serves from this bucket: add a BucketLogging to the log bucket"
