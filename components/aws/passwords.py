"""Generated master passwords, secret from the moment they exist."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.outputs import secret_output


def master_password(
    name: str, specials: str, parent: pulumi.Resource, min_special: int = 0, version: str | None = None
) -> pulumi.Output[str]:
    """40 characters with at least two of each class the services demand, drawn only from the
    `specials` the service accepts (RDS and OpenSearch refuse different ones). A new `version`
    draws a new password."""
    password = random.RandomPassword(
        f"{name}-master-password",
        length=40,
        special=True,
        override_special=specials,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        min_special=min_special,
        keepers={"version": version} if version else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret_output(password.result)
