"""Property tests for the pure subnet planner."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from components.network.subnet_plan import TIERS, SubnetPlanError, plan_subnets

DEFAULT_PREFIXES = {"public": 22, "private": 19, "isolated": 22}


def test_prod_layout_is_the_documented_one():
    plan = plan_subnets("10.10.0.0/16", 3, DEFAULT_PREFIXES, az_slots=4)
    by_tier = {t: [s.cidr for s in plan if s.tier == t] for t in TIERS}
    assert by_tier == {
        "private": ["10.10.0.0/19", "10.10.32.0/19", "10.10.64.0/19"],
        "public": ["10.10.128.0/22", "10.10.132.0/22", "10.10.136.0/22"],
        "isolated": ["10.10.144.0/22", "10.10.148.0/22", "10.10.152.0/22"],
    }


def test_too_small_vpc_names_the_size_needed():
    # Private alone fills the /17 (4 slots x /19): the report names the /16 that would fit.
    with pytest.raises(SubnetPlanError, match=r"the tiers need a /16 or larger, 10.0.0.0/17 is too small"):
        plan_subnets("10.0.0.0/17", 3, DEFAULT_PREFIXES, az_slots=4)


plans = st.builds(
    lambda vpc_prefix, az_count, extra_slots, prefixes: (
        str(ipaddress.IPv4Network((0x0A000000, vpc_prefix))),
        az_count,
        az_count + extra_slots,
        dict(zip(TIERS, prefixes, strict=True)),
    ),
    st.integers(16, 24),
    st.integers(1, 6),
    st.integers(0, 3),
    st.tuples(*[st.integers(14, 29)] * 3),
)


def _required_addresses(vpc_prefix: int, slots: int, prefixes: dict[str, int]) -> int | None:
    """Addresses the tiers need, or None when a prefix is invalid on its own."""
    if any(not vpc_prefix < p <= 28 for p in prefixes.values()):
        return None
    slot_bits = (slots - 1).bit_length()
    return sum(1 << (32 - p + slot_bits) for p in prefixes.values())


@given(plans)
def test_plan_is_valid_or_refused_only_when_it_cannot_fit(case):
    vpc_cidr, az_count, slots, prefixes = case
    vpc = ipaddress.IPv4Network(vpc_cidr)
    needed = _required_addresses(vpc.prefixlen, slots, prefixes)
    try:
        plan = plan_subnets(vpc_cidr, az_count, prefixes, az_slots=slots)
    except SubnetPlanError:
        assert needed is None or needed > vpc.num_addresses
        return
    assert needed is not None and needed <= vpc.num_addresses
    assert len(plan) == len(TIERS) * az_count
    networks = [ipaddress.IPv4Network(s.cidr) for s in plan]
    for spec, net in zip(plan, networks, strict=True):
        assert net.subnet_of(vpc)
        assert net.prefixlen == prefixes[spec.tier]
    for a, b in itertools.combinations(networks, 2):
        assert not a.overlaps(b)
    assert sorted((s.tier, s.az_index) for s in plan) == sorted(itertools.product(TIERS, range(az_count)))


@st.composite
def growable_plans(draw):
    """Plans with room for one more zone whose tiers fit: each tier's block (its prefix times
    the slots) is at most a quarter of the VPC, so the three always fit."""
    vpc_prefix = draw(st.integers(16, 22))
    az_count = draw(st.integers(1, 5))
    slots = az_count + draw(st.integers(1, 3))
    smallest = vpc_prefix + 2 + (slots - 1).bit_length()
    assume(smallest <= 28)
    prefixes = dict(zip(TIERS, draw(st.tuples(*[st.integers(smallest, 28)] * 3)), strict=True))
    return str(ipaddress.IPv4Network((0x0A000000, vpc_prefix))), az_count, slots, prefixes


@given(growable_plans())
def test_adding_an_az_within_the_slots_never_renumbers(case):
    vpc_cidr, az_count, slots, prefixes = case
    before = plan_subnets(vpc_cidr, az_count, prefixes, az_slots=slots)
    after = plan_subnets(vpc_cidr, az_count + 1, prefixes, az_slots=slots)
    assert set(before) <= set(after)
