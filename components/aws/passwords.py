"""Generated master passwords, secret from the moment they exist."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.outputs import secret_output


def master_password(name: str, specials: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """40 characters with at least two lower, upper and numeric, drawn only from the `specials`
    the service accepts (RDS refuses '/', '@', '"' and spaces)."""
    password = random.RandomPassword(
        f"{name}-master-password",
        length=40,
        special=True,
        override_special=specials,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        min_special=0,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret_output(password.result)
