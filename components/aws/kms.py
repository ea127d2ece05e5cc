"""Customer-managed KMS keys for the stateful components."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def rotating_key(
    name: str, description: str, parent: pulumi.Resource, protect: bool, policy: pulumi.Input[str] | None = None
) -> aws.kms.Key:
    """A symmetric key with yearly automatic rotation (FSBP KMS.4) and the longest deletion
    window, so a mistaken delete can still be cancelled for 30 days. `policy` replaces the
    default key policy (the account's IAM decides) when a service must use the key itself."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.kms.Alias(
        f"{name}-alias",
        name=f"alias/{name}",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key
