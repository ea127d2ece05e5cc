"""S3, KMS, Secrets Manager and SQS."""

from __future__ import annotations

from collections.abc import Mapping

from ..charges import Charge, Context, rule


@rule("aws:s3/bucket:Bucket")
def bucket(r: Mapping, ctx: Context) -> list[Charge]:
    u = ctx.usage
    return [
        Charge(f"{u.s3_gb_per_bucket:g} GB Standard", "s3/standard-gb-month", u.s3_gb_per_bucket),
        Charge(
            f"{u.s3_requests_per_bucket:,.0f} requests (at the PUT price)",
            "s3/1k-put-requests",
            u.s3_requests_per_bucket / 1000,
        ),
    ]


@rule("aws:kms/key:Key")
def kms_key(r: Mapping, ctx: Context) -> list[Charge]:
    return _item_and_calls("customer managed key", "kms", "key-month", ctx.usage.kms_requests_per_key)


@rule("aws:secretsmanager/secret:Secret")
def secret(r: Mapping, ctx: Context) -> list[Charge]:
    return _item_and_calls("secret", "secretsmanager", "secret-month", ctx.usage.secret_calls_per_secret)


def _item_and_calls(item: str, service: str, monthly: str, calls: float) -> list[Charge]:
    """One item billed a month, and its API calls billed per 10,000."""
    return [
        Charge(item, f"{service}/{monthly}", 1),
        Charge(f"{calls:,.0f} API calls", f"{service}/10k-calls", calls / 1e4),
    ]


@rule("aws:sqs/queue:Queue")
def queue(r: Mapping, ctx: Context) -> list[Charge]:
    requests = ctx.usage.sqs_requests
    return [Charge(f"{requests:,.0f} requests", "sqs/1m-requests", requests / 1e6)]
