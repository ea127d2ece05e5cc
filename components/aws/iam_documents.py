"""IAM policy documents as JSON, built locally.

Local JSON (instead of the `get_policy_document` invoke) keeps documents visible in
`make synth`, so tests and the policy pack can inspect every statement offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi


def statement(
    actions: Sequence[str],
    resources: Sequence[Any] | Any = "*",
    effect: str = "Allow",
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
    sid: str | None = None,
    not_resources: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """One statement; `not_resources` (everything but these) replaces `resources` when given."""
    body: dict[str, Any] = {"Effect": effect, "Action": list(actions)}
    body["NotResource" if not_resources is not None else "Resource"] = (
        list(not_resources) if not_resources is not None else resources
    )
    if sid:
        body["Sid"] = sid
    if conditions:
        body["Condition"] = {k: dict(v) for k, v in conditions.items()}
    return body


def document_json(statements: Sequence[Mapping[str, Any]]) -> str:
    """A policy JSON string from plain statements (inside an `apply`, where the ARNs are known)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """A policy JSON string; statements may hold Outputs (ARNs of resources made alongside)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust_policy(
    service: str | Sequence[str],
    source_account: pulumi.Input[str] | None = None,
    actions: Sequence[str] = ("sts:AssumeRole",),
) -> pulumi.Output[str]:
    """Trust for one AWS service principal (or several, as Lambda@Edge needs), scoped to our
    account against confused deputies when `source_account` is given."""
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service if isinstance(service, str) else list(service)},
        "Action": list(actions) if len(actions) > 1 else actions[0],
    }
    if source_account is not None:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document([trust])


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The statement every bucket policy carries (FSBP S3.5): no request without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def secret_read_statements(
    secret_arns: Sequence[pulumi.Input[str]], key_arns: Sequence[pulumi.Input[str]], region: str
) -> list[dict[str, Any]]:
    """Read these secrets and nothing else: their values and metadata (the Secrets Store CSI
    provider checks AWSCURRENT with DescribeSecret), and decrypt with their keys only through
    Secrets Manager in this region."""
    return [
        statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], list(secret_arns)),
        statement(
            ["kms:Decrypt"],
            list(key_arns),
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        ),
    ]


def secret_write_statements(
    secret_arns: Sequence[pulumi.Input[str]], key_arns: Sequence[pulumi.Input[str]], region: str
) -> list[dict[str, Any]]:
    """Put new values into these secrets (AWSCURRENT moves to them): Secrets Manager encrypts
    each with a data key of theirs, which it asks KMS for on the writer's behalf."""
    return [
        statement(["secretsmanager:PutSecretValue"], list(secret_arns)),
        statement(
            ["kms:GenerateDataKey"],
            list(key_arns),
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        ),
    ]
