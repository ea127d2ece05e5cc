"""Credentials stored in Secrets Manager, encrypted with the component's own key.

A rotated secret's value and stages belong to its rotation after the first: the program's
version is never written again (its value and stages are ignored), and it keeps a label of its
own (FIRST_VERSION_STAGE). Without one, Secrets Manager deletes a version two rotations later;
a `pulumi refresh` would then find it gone and the next `up` would write it again as
AWSCURRENT, putting the program's dead first value back in front of every client.
"""

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
) -> aws.secretsmanager.Secret:
    """A rotated secret whose first value is `value` as JSON (its Outputs resolved, the whole
    string secret): the program writes it once (`first_version`), its rotation from then on. The
    secret is protected with its owner."""
    secret = aws.secretsmanager.Secret(
        name,
        description=description,
        kms_key_id=key_arn,
        recovery_window_in_days=recovery_window_days,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    first_version(name, secret.id, secret_output(pulumi.Output.json_dumps(dict(value))), parent)
    return secret


#: The label that keeps a rotated secret's first version from Secrets Manager's clean-up.
FIRST_VERSION_STAGE = "PROGRAM_FIRST"


def first_version(
    name: str, secret_id: pulumi.Input[str], text: pulumi.Input[str], parent: pulumi.Resource
) -> aws.secretsmanager.SecretVersion:
    """The program's one version of a rotated secret: current until the first rotation, then
    kept (under its own label) and never written again."""
    return aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret_id,
        secret_string=text,
        version_stages=["AWSCURRENT", FIRST_VERSION_STAGE],
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["secretString", "versionStages"]),
    )
