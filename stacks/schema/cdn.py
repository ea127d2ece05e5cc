"""Config of the CDN. Defaults are the seed's values (`infrastructure/cloudfront/distribution.yaml`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from components.edge.cdn_policies import Ttls, cache_policies
from components.settings import HEADER_VALUE, AuditLogRetentionDays, Section

#: One DNS label under the domain (erp, api).
HOST_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"

#: Regions where CloudFront offers Origin Shield.
ORIGIN_SHIELD_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
)

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self' wss:; "
    "frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
)


def _seed(min_ttl: int, default_ttl: int, max_ttl: int, description: str) -> Any:
    """A cache policy's TTLs, defaulting to the seed's values."""
    return Field(
        Ttls.model_validate({"minTtl": min_ttl, "defaultTtl": default_ttl, "maxTtl": max_ttl}), description=description
    )


class CacheTtls(Section):
    """Per cache policy. Defaults: the seed's static, long-cache and API policies; images ours."""

    static: Ttls = _seed(3600, 86400, 31536000, "Default behaviour: static assets from S3 (the seed's Static policy).")
    long_cache: Ttls = _seed(
        86400, 604800, 31536000, "/static/*: fingerprinted assets, ?v= busting (the seed's LongCache policy)."
    )
    image: Ttls = _seed(86400, 2592000, 31536000, "Images (*.jpg, *.png, *.webp).")
    api: Ttls = _seed(0, 0, 1, "/api/*: pass-through to the ALB (the seed's API policy).")
    odoo_assets: Ttls = _seed(
        0, 0, 31536000, "Odoo's module files and bundles: as long as Odoo's Cache-Control says, private never."
    )


ManagedRuleGroup = Literal[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesBotControlRuleSet",
]
#: The rule groups a stack gets when it names none.
DEFAULT_RULE_GROUPS: list[ManagedRuleGroup] = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
]


class WafConfig(Section):
    rate_limit: int = Field(2000, ge=10, le=2_000_000_000, description="Requests per IP per 5 minutes before blocking.")
    managed_rule_groups: list[ManagedRuleGroup] = Field(
        default_factory=lambda: list(DEFAULT_RULE_GROUPS),
        min_length=1,
        description="AWS managed rule groups, evaluated in this order after the rate limit.",
    )
    log_retention_days: AuditLogRetentionDays = Field(
        365, description="Days the web ACL's request logs (aws-waf-logs-*, us-east-1) are kept."
    )


class CdnConfig(Section):
    """CloudFront, its S3 static origin, ACM certificate (us-east-1) and WAF."""

    domain: str = Field(pattern=HOSTNAME, max_length=253, description="Apex served by CloudFront; www.<domain> too.")
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,31}$", description="Route 53 zone of `domain`.")
    origin_secret_version: str = Field(
        "1",
        pattern=r"^[A-Za-z0-9._-]{1,32}$",
        description="Bump to draw a new root key for the secret header CloudFront sends and the ALB "
        "requires (an emergency re-key; the header also rotates by itself every originSecretRotationDays).",
    )
    origin_secret_rotation_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days between rotations of the origin header, each in two phases (the ALB accepts the "
        "current and the previous value, so no request is refused).",
    )
    odoo_host: str = Field(
        "erp",
        pattern=HOST_LABEL,
        description="Odoo's host, <odooHost>.<domain>: backend, website and bus, every path to the ALB with every "
        "method (the apex and www serve the portal from S3, and /api/*).",
    )
    api_host: str | None = Field(
        "api",
        pattern=HOST_LABEL,
        description="The API's own host, <apiHost>.<domain> (the seed's load test targets api.<domain>): /api/* "
        "as on the apex; null for none.",
    )
    api_origin_domain: str | None = Field(
        None,
        pattern=HOSTNAME,
        max_length=253,
        description="Hostname of the API origin (the ALB); default origin.<domain>.",
    )
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        "PriceClass_200",
        description="Edge locations served: PriceClass_100, PriceClass_200 (the seed) or PriceClass_All.",
    )
    content_security_policy: str = Field(
        DEFAULT_CSP,
        min_length=1,
        max_length=1783,
        pattern=HEADER_VALUE,
        description="Content-Security-Policy header of every response (printable ASCII).",
    )
    frame_options: Literal["DENY", "SAMEORIGIN"] = Field(
        "SAMEORIGIN", description="X-Frame-Options: SAMEORIGIN lets Odoo's website editor frame its own pages."
    )
    origin_shield: bool = Field(True, description="Origin Shield in the stack's region (raises the hit ratio).")
    access_logs: bool = Field(True, description="Standard access logs to an S3 bucket.")
    hit_rate_sampling_percent: int = Field(
        5,
        ge=1,
        le=100,
        description="Percent of the cacheable behaviours' requests sampled (real-time logs) for the cache-hit rate.",
    )
    access_log_retention_days: int = Field(90, ge=1, le=3650, description="Days access logs are kept.")
    ttls: CacheTtls = Field(CacheTtls.model_validate({}), description="TTLs of the cache policies.")
    waf: WafConfig = Field(WafConfig.model_validate({}), description="The WAF web ACL in front of CloudFront.")

    def _hosts_named(self, label: str) -> list[str]:
        return [key for key, host in (("odooHost", self.odoo_host), ("apiHost", self.api_host)) if host == label]

    @model_validator(mode="after")
    def _no_cloudfront_traps(self) -> CdnConfig:
        problems = [f"{key} = 'www': the portal's host; pick another label" for key in self._hosts_named("www")]
        if self.api_host is not None and self.api_host == self.odoo_host:
            problems.append(f"apiHost = {self.api_host!r}: Odoo's host (odooHost) already; pick another label")
        problems += [
            f"ttls.{_camel(role)}: {problem}"
            for role, spec in cache_policies("check", ttls_by_role(self.ttls)).items()
            for problem in spec.problems()
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def ttls_by_role(ttls: CacheTtls) -> dict[str, Ttls]:
    return {role: getattr(ttls, role) for role in type(ttls).model_fields}
