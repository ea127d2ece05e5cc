"""Typed wrappers of Pulumi SDK calls whose stubs mypy cannot follow."""

from __future__ import annotations

import pulumi


def secret_output(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """`pulumi.Output.secret` for strings: its stub leaves the type variable unsolvable for
    an Output argument, so every typed call site would need an ignore."""
    return pulumi.Output.secret(value)
