"""Pure subnet arithmetic for the three-tier VPC.

Kept free of Pulumi so that config validation can call it before any resource exists and so that
property tests can exercise it exhaustively.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from components.settings import Section

TIERS: tuple[str, ...] = ("public", "private", "isolated")

#: AWS refuses subnets smaller than /28 and VPCs larger than /16.
MIN_SUBNET_PREFIX = 16
MAX_SUBNET_PREFIX = 28


class SubnetPlanError(ValueError):
    """The requested tiers cannot be carved out of the VPC range."""


SubnetPrefix = Annotated[int, Field(ge=MIN_SUBNET_PREFIX + 1, le=MAX_SUBNET_PREFIX)]


class SubnetPrefixes(Section):
    """Prefix length of one subnet per tier. The private tier is large: with the VPC CNI every
    pod takes a VPC address, so 10K-user scale-out needs thousands of them."""

    public: SubnetPrefix = Field(22, description="ALBs and NAT gateways only.")
    private: SubnetPrefix = Field(19, description="EKS nodes and pods: the VPC CNI gives every pod a VPC address.")
    isolated: SubnetPrefix = Field(22, description="RDS and ElastiCache; no route out.")


@dataclass(frozen=True)
class SubnetSpec:
    tier: str
    az_index: int
    cidr: str


def plan_subnets(
    vpc_cidr: str,
    az_count: int,
    prefixes: Mapping[str, int],
    az_slots: int | None = None,
) -> list[SubnetSpec]:
    """Allocate one subnet per tier and AZ inside `vpc_cidr`.

    Each tier owns one contiguous block sized for `az_slots` subnets (default: `az_count`), so
    growing from 3 to 4 AZs later only adds subnets and never renumbers existing ones, which
    would force AWS to replace them. Blocks are laid out largest first: every block then starts
    on a multiple of its own size, so the layout has no alignment gaps and is deterministic.
    """
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    slots = az_count if az_slots is None else az_slots
    if az_count < 1:
        raise SubnetPlanError(f"az_count must be at least 1, got {az_count}")
    if slots < az_count:
        raise SubnetPlanError(f"az_slots ({slots}) must be >= az_count ({az_count})")
    missing = [tier for tier in TIERS if tier not in prefixes]
    if missing:
        raise SubnetPlanError(f"no prefix length given for tier(s) {', '.join(missing)}")

    slot_bits = (slots - 1).bit_length()
    blocks: list[tuple[int, str]] = []
    for tier in TIERS:
        prefix = prefixes[tier]
        if not vpc.prefixlen < prefix <= MAX_SUBNET_PREFIX:
            raise SubnetPlanError(
                f"{tier} subnets must be /{vpc.prefixlen + 1} to /{MAX_SUBNET_PREFIX} inside {vpc}, got /{prefix}"
            )
        block_prefix = prefix - slot_bits
        if block_prefix < vpc.prefixlen:
            raise SubnetPlanError(f"{slots} {tier} subnets of /{prefix} need a /{block_prefix}, larger than {vpc}")
        blocks.append((block_prefix, tier))

    plan: list[SubnetSpec] = []
    cursor = int(vpc.network_address)
    end = int(vpc.broadcast_address) + 1
    for block_prefix, tier in sorted(blocks, key=lambda b: (b[0], TIERS.index(b[1]))):
        size = 1 << (32 - block_prefix)
        if cursor + size > end:
            needed = _required_prefix(blocks)
            raise SubnetPlanError(f"the tiers need a /{needed} or larger, {vpc} is too small")
        block = ipaddress.IPv4Network((cursor, block_prefix))
        subnets = block.subnets(new_prefix=prefixes[tier])
        plan.extend(SubnetSpec(tier, az, str(next(subnets))) for az in range(az_count))
        cursor += size
    return sorted(plan, key=lambda s: (TIERS.index(s.tier), s.az_index))


def _required_prefix(blocks: list[tuple[int, str]]) -> int:
    total = sum(1 << (32 - prefix) for prefix, _ in blocks)
    return 32 - (total - 1).bit_length()
