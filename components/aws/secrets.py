"""Credentials stored in Secrets Manager, encrypted with the component's own key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.outputs import secret_output


def stored_secret(
    name: str,
    description: str,
    key_arn: pulumi.Input[str],
    recovery_window_days: int,
    value: Mapping[str, Any],
    parent: pulumi.Resource,
    protect: bool,
    rotated: bool = False,
) -> aws.secretsmanager.Secret:
    """A secret holding `value` as JSON (its Outputs resolved, the whole string secret). The
    secret is protected with its owner; its versions are not, so a new value replaces them.
    A `rotated` secret's value and stages belong to its rotation after the first: the program's
    version is never written again."""
    secret = aws.secretsmanager.Secret(
        name,
        description=description,
        kms_key_id=key_arn,
        recovery_window_in_days=recovery_window_days,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=secret_output(pulumi.Output.json_dumps(dict(value))),
        opts=pulumi.ResourceOptions(
            parent=parent, ignore_changes=["secretString", "versionStages"] if rotated else None
        ),
    )
    return secret
