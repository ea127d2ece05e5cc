"""The month's traffic at a point, from the capacity model's demand and the usage assumptions."""

from __future__ import annotations

from dataclasses import dataclass

from .load import Point
from .usage import SECONDS_PER_MONTH, Usage

KIB_PER_GB = 1024 * 1024


@dataclass(frozen=True)
class Traffic:
    """Requests and GB a month."""

    api_requests: float
    asset_requests: float
    api_gb: float
    asset_gb: float

    @property
    def cdn_requests(self) -> float:
        return self.api_requests + self.asset_requests

    @property
    def cdn_gb(self) -> float:
        return self.api_gb + self.asset_gb

    @property
    def alb_requests(self) -> float:
        """CloudFront caches no API call: each one reaches the ALB; assets come from S3."""
        return self.api_requests

    @property
    def alb_gb(self) -> float:
        return self.api_gb


def traffic(point: Point, u: Usage) -> Traffic:
    api = point.api_rps * SECONDS_PER_MONTH
    assets = point.iterations_per_s * u.asset_requests_per_iteration * SECONDS_PER_MONTH
    return Traffic(api, assets, api * u.api_response_kib / KIB_PER_GB, assets * u.asset_kib / KIB_PER_GB)
