"""Names for the snapshots RDS and ElastiCache take when a stateful resource is deleted."""

from __future__ import annotations

import pulumi
import pulumi_random as random


def final_snapshot_identifier(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """`<name>-final-<8 hex>`. A snapshot name is taken for good once written, so a fixed name lets
    a stack be torn down once: built again, its next teardown fails on the old snapshot. The suffix
    is a RandomId that lives and dies with the stack, so every incarnation gets its own name."""
    suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=pulumi.ResourceOptions(parent=parent))
    return suffix.hex.apply(lambda hex_: f"{name}-final-{hex_}")
