"""CloudFront cache and origin-request policy specs, and the traps they must avoid.

Pure data and checks, free of Pulumi: config validation calls `problems()` to name the bad key
before anything is registered, and the Cdn component refuses a spec with problems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from components.aws.iam_documents import deny_insecure_transport
from components.settings import Section

#: CloudFront adds Authorization to the cache key only through a cache policy; it rejects the
#: header in an origin request policy (aws-cdk#13408, #28883).
CACHE_POLICY_ONLY_HEADERS = frozenset({"authorization", "accept-encoding"})

DISTRIBUTION_ARN = re.compile(r"^arn:aws[a-z-]*:cloudfront::\d{12}:distribution/[A-Z0-9]+$")

#: The header CloudFront adds to requests for the ALB, carrying a secret the ALB requires.
ORIGIN_HEADER = "X-Origin-Verify"


class Ttls(Section):
    """Seconds. CloudFront clamps origin Cache-Control max-age into [minTtl, maxTtl]."""

    min_ttl: int = Field(ge=0, le=31536000, description="Shortest time an object stays cached, seconds.")
    default_ttl: int = Field(
        ge=0, le=31536000, description="Time cached when the origin sends no Cache-Control, seconds."
    )
    max_ttl: int = Field(
        ge=0, le=31536000, description="Longest time an object stays cached, seconds (0: not cacheable)."
    )

    def problems(self) -> list[str]:
        if not self.min_ttl <= self.default_ttl <= self.max_ttl:
            return [f"needs minTtl <= defaultTtl <= maxTtl, got {self.min_ttl} / {self.default_ttl} / {self.max_ttl}"]
        return []


@dataclass(frozen=True)
class CachePolicySpec:
    """One cache policy. Header, cookie and query-string names are the cache key."""

    name: str
    comment: str
    ttls: Ttls
    headers: tuple[str, ...] = ()
    cookies: str = "none"  # none | all | whitelist
    cookie_names: tuple[str, ...] = ()
    query_strings: str = "none"  # none | all | whitelist
    query_string_names: tuple[str, ...] = ()
    compress: bool = True

    @property
    def keys_on_request(self) -> bool:
        return bool(self.headers) or self.cookies != "none" or self.query_strings != "none"

    def problems(self) -> list[str]:
        problems = self.ttls.problems()
        if self.keys_on_request and self.ttls.max_ttl == 0:
            # CloudFront rejects the policy: with max TTL 0 nothing is cached, so a cache key
            # (and the forwarding that rides on it) is meaningless.
            problems.append(
                "puts headers, cookies or query strings in the cache key, so maxTtl must be > 0 "
                "(use maxTtl 1 for pass-through with forwarding)"
            )
        if self.query_strings == "whitelist" and not self.query_string_names:
            problems.append("query string whitelist is empty")
        if self.cookies == "whitelist" and not self.cookie_names:
            problems.append("cookie whitelist is empty")
        return problems


@dataclass(frozen=True)
class OriginRequestSpec:
    """Values forwarded to the origin without entering the cache key."""

    name: str
    comment: str
    header_behavior: str  # none | whitelist | allViewer | allViewerAndWhitelistCloudFront | allExcept
    headers: tuple[str, ...] = ()
    cookies: str = "all"
    query_strings: str = "all"

    def problems(self) -> list[str]:
        forwarded = {h.lower() for h in self.headers} if self.header_behavior != "allExcept" else set()
        misplaced = sorted(forwarded & CACHE_POLICY_ONLY_HEADERS)
        if misplaced:
            return [
                f"origin request policies cannot forward {', '.join(misplaced)}; put it in the "
                "cache policy's headers instead (aws-cdk#13408)"
            ]
        return []


def oac_bucket_policy(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """Bucket policy: CloudFront may read objects only on behalf of *this* distribution
    (Origin Access Control), and nobody may talk to the bucket without TLS."""
    if not DISTRIBUTION_ARN.match(distribution_arn or ""):
        raise ValueError(
            f"the OAC bucket policy must name the distribution by its ARN "
            f"(arn:aws:cloudfront::<account>:distribution/<id>), got {distribution_arn!r}"
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCloudFrontServicePrincipalReadOnly",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            deny_insecure_transport(bucket_arn),
        ],
    }


def seed_cache_policies(prefix: str, ttls: Mapping[str, Ttls]) -> dict[str, CachePolicySpec]:
    """The seed's cache behaviours (static, long cache with ?v= busting, API pass-through) and our
    images policy; TTLs come from config, keys `static`, `long_cache`, `image`, `api`."""
    # ?v= busts the cache of fingerprinted assets and images: replaced files show up at once.
    version_busting: dict[str, Any] = {"query_strings": "whitelist", "query_string_names": ("v",)}
    return {
        "static": CachePolicySpec(f"{prefix}-Static", "Static assets, no variation", ttls["static"]),
        "long_cache": CachePolicySpec(
            f"{prefix}-LongCache",
            "Fingerprinted assets under /static; ?v= busts the cache",
            ttls["long_cache"],
            **version_busting,
        ),
        # Images are already compressed: an Accept-Encoding variant would only split the cache.
        "image": CachePolicySpec(
            f"{prefix}-Images",
            "Images: long TTLs, no compression variants",
            ttls["image"],
            compress=False,
            **version_busting,
        ),
        "api": CachePolicySpec(
            f"{prefix}-API",
            "API pass-through: caller identity in the key, effectively uncached",
            ttls["api"],
            headers=("Authorization", "Accept", "Accept-Language"),
            cookies="all",
            query_strings="all",
        ),
    }


def odoo_cache_policies(prefix: str, ttls: Mapping[str, Ttls]) -> dict[str, CachePolicySpec]:
    """Odoo's module files (`/<module>/static/...`) and compiled bundles (`/web/assets/...`) on
    its own host: the same for everyone, changed by their path (a bundle's hash) and query
    (`?unique=`), cached as Odoo's Cache-Control says (min TTL 0: `private` never is).

    Record images and attachments (`/web/image`, `/web/content`) are not cached at the edge:
    Odoo decides what a session may see and may set a session cookie on any response, and a
    cached `Set-Cookie` would hand one visitor's session to the next. The portal's images come
    from S3 under the seed's image policy."""
    return {
        "odoo_assets": CachePolicySpec(
            f"{prefix}-OdooAssets",
            "Odoo module files and bundles, by path and query",
            ttls["odoo_assets"],
            query_strings="all",
        ),
    }


def cache_policies(prefix: str, ttls: Mapping[str, Ttls]) -> dict[str, CachePolicySpec]:
    """Every cache policy the distributions name, by role."""
    return seed_cache_policies(prefix, ttls) | odoo_cache_policies(prefix, ttls)


def assets_origin_request(prefix: str) -> OriginRequestSpec:
    """What Odoo's cached files forward: every viewer header but Host, the query, and no
    cookie, so Odoo answers as to anyone and no `Set-Cookie` reaches the cache."""
    return OriginRequestSpec(
        f"{prefix}-OdooAssetsOriginRequest",
        "All viewer headers but Host, no cookies",
        header_behavior="allExcept",
        headers=("host",),
        cookies="none",
    )


def api_origin_request(prefix: str) -> OriginRequestSpec:
    """Everything the viewer sent except Host, so the ALB's own certificate name matches.
    Authorization already travels through the API cache policy."""
    return OriginRequestSpec(
        f"{prefix}-APIOriginRequest", "All viewer headers but Host", header_behavior="allExcept", headers=("host",)
    )
