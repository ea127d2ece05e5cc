"""Usage the inventory cannot say: traffic, transfer, log and storage volumes, and how Karpenter
fills its pools. Each is named, with where it comes from; the output states them all.

"model" = derived from the capacity model's demand per user (capacity/demand.py) at the point
priced; "ours" = an engineering estimate to replace with the bill's own figures (Cost Explorer
by usage type) once the stack runs. Override per run: `tools/cost.py --assume name=value`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

#: AWS prices hourly resources at 730 hours a month (its calculator's convention).
HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


@dataclass(frozen=True)
class Usage:
    # --- the month's load ------------------------------------------------------------------
    #: Mean concurrent users over the month as a share of the capacity target: the target is
    #: the peak of a few busy hours; nights are near zero. (ours)
    mean_concurrency_share: float = 0.1
    # --- traffic per user iteration (the API requests come from the model) -----------------
    #: Static asset requests per journey iteration that reach CloudFront (the SPA's images,
    #: scripts; browsers cache the rest). (ours)
    asset_requests_per_iteration: float = 3.0
    #: Mean API response body, KiB (JSON product pages, gzip). (ours)
    api_response_kib: float = 6.0
    #: Mean static asset body, KiB (webp images, minified bundles). (ours)
    asset_kib: float = 40.0
    #: Share of static asset requests CloudFront fetches from S3, each running the Lambda@Edge
    #: origin-response handler (the friendly 404). (seed: CDN hit rate > 80 %)
    asset_miss_share: float = 0.2
    #: New TCP connections per ALB request: CloudFront keeps connections to the origin open. (ours)
    alb_new_connections_per_request: float = 0.05
    # --- compute ------------------------------------------------------------------------
    #: vCPUs of a typical Karpenter node (xlarge to 2xlarge): root volumes per vCPU. (ours)
    karpenter_node_vcpu: float = 8.0
    #: Spot price as a share of on-demand for c/m families in the region (AWS's spot advisor
    #: shows 60-70 % savings). (ours)
    spot_price_share: float = 0.35
    #: GB a month through the NAT gateways per node vCPU: image pulls, OS updates, AWS APIs
    #: without an endpoint. (ours)
    nat_gb_per_vcpu: float = 4.0
    # --- logs -----------------------------------------------------------------------------
    #: WAF log record per request, KiB (JSON with headers). (ours)
    waf_log_kib_per_request: float = 1.2
    #: VPC flow log GB per GB of traffic through the NAT gateways and the ALB. (ours)
    flow_log_gb_per_traffic_gb: float = 0.01
    #: EKS control-plane logs (api, audit, authenticator ...), GB a month. (ours)
    control_plane_log_gb: float = 40.0
    #: Any other log group (Lambda, cache slow logs, search logs), GB a month. (ours)
    log_gb_per_group: float = 1.0
    #: Stored size of a log GB (CloudWatch Logs bills archived, compressed data). (ours)
    log_storage_ratio: float = 0.15
    # --- storage and API calls -------------------------------------------------------------
    #: GB stored per S3 bucket (assets, access logs, load-test results). (ours)
    s3_gb_per_bucket: float = 20.0
    #: Requests per S3 bucket a month (log deliveries, CloudFront origin fetches). (ours)
    s3_requests_per_bucket: float = 200_000.0
    #: Share of the Odoo filestore claim in use (EFS bills what is stored). (ours)
    efs_used_share: float = 0.5
    #: GB read and written on EFS a month (Elastic throughput bills transfer). (ours)
    efs_transfer_gb: float = 200.0
    #: RDS backup storage beyond the free allowance (100 % of provisioned), share of storage. (ours)
    rds_backup_extra_share: float = 0.5
    #: KMS requests per key a month (envelope encryption of volumes, secrets, logs). (ours)
    kms_requests_per_key: float = 50_000.0
    #: Secrets Manager calls per secret a month (CSI driver refreshes, rotation). (ours)
    secret_calls_per_secret: float = 20_000.0
    #: SQS requests a month (Karpenter's long polling of interruption events). (ours)
    sqs_requests: float = 300_000.0
    #: Invocations a month of the rotation and search-role functions (rare, scheduled). (ours)
    rare_function_invocations: float = 1_000.0
    #: Mean duration of one Lambda invocation, seconds. (ours)
    function_duration_s: float = 0.5
    #: Mean duration of the Lambda@Edge origin-response handler (a status check), seconds. (ours)
    edge_function_duration_s: float = 0.005

    def with_overrides(self, overrides: dict[str, float]) -> Usage:
        """A copy with `overrides`; an unknown name or a negative value is refused, by name."""
        known = {f.name for f in fields(self)}
        problems = [f"unknown usage assumption {name!r}" for name in overrides if name not in known]
        problems += [f"usage assumption {name}: {value} is negative" for name, value in overrides.items() if value < 0]
        if problems:
            raise ValueError("\n".join(problems))
        return type(self)(**{**self.__dict__, **overrides})

    def described(self) -> list[tuple[str, float, str]]:
        """(name, value, its comment) for the output, from this module's own comments."""
        notes = _comments()
        return [(f.name, getattr(self, f.name), notes.get(f.name, "")) for f in fields(self)]


def _comments() -> dict[str, str]:
    import ast
    import inspect

    source = inspect.getsource(Usage)
    lines = source.splitlines()
    notes: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment: list[str] = []
            for line in reversed(lines[: node.lineno - 1]):
                if not line.strip().startswith("#:"):
                    break
                comment.insert(0, line.strip()[2:].strip())
            notes[node.target.id] = " ".join(comment)
    return notes
