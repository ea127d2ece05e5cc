"""The offline run's two SDK swaps (synth/sdk_trims.py): same answers, no cycles, scoped to a run."""

from __future__ import annotations

import gc
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulumi.output import UNKNOWN
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.rpc import contains_unknowns as sdk_contains_unknowns

from synth import sdk_trims
from synth.mock_runtime import run_program
from tests.conftest import ROOT, program_run

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just(UNKNOWN))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=25,
)


def test_the_swaps_were_read_at_the_sdk_the_project_pins():
    """An SDK upgrade fails here: read the two functions again, then move READ_AT."""
    pinned = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and pinned.group(1) == sdk_trims.READ_AT
    assert sdk_trims.applies()


@given(values)
def test_contains_unknowns_answers_as_the_sdks_own(value):
    assert sdk_trims.contains_unknowns(value) == sdk_contains_unknowns(value)


def test_contains_unknowns_answers_as_the_sdks_own_on_shared_and_cyclic_values():
    shared = {"a": [1, 2]}
    looped: list = [1]
    looped.append(looped)
    for value in ([shared, shared], {"x": shared, "y": [shared, UNKNOWN]}, looped, [looped, UNKNOWN]):
        assert sdk_trims.contains_unknowns(value) == sdk_contains_unknowns(value)


def _cycles_left_by(check) -> int:
    value = {"spec": [{"name": str(i), "ports": [80, 443]} for i in range(5)]}
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        for _ in range(100):
            check(value)
        return gc.collect()
    finally:
        if enabled:
            gc.enable()


def test_contains_unknowns_leaves_no_reference_cycle_where_the_sdks_leaves_one_per_call():
    """100 calls: the SDK's leaves six objects in a cycle per call (the inner function, its
    closure, cell and annotations); ours none (a few objects of the test process itself may be
    collected too)."""
    assert _cycles_left_by(sdk_contains_unknowns) >= 300
    assert _cycles_left_by(sdk_trims.contains_unknowns) < 30


def test_the_swaps_last_for_the_block_and_the_sdks_own_are_back_after_it_even_on_error():
    stack_trace = sdk_resource._get_stack_trace
    with sdk_trims.offline_sdk():
        assert rpc.contains_unknowns is sdk_trims.contains_unknowns
        assert sdk_resource._get_stack_trace is sdk_trims.no_stack_trace
    assert rpc.contains_unknowns is sdk_contains_unknowns
    assert sdk_resource._get_stack_trace is stack_trace
    with pytest.raises(RuntimeError), sdk_trims.offline_sdk():
        raise RuntimeError("a program that fails")
    assert rpc.contains_unknowns is sdk_contains_unknowns
    assert sdk_resource._get_stack_trace is stack_trace


def test_on_another_sdk_release_the_sdks_own_code_runs(monkeypatch):
    monkeypatch.setattr(sdk_trims, "applies", lambda: False)
    with sdk_trims.offline_sdk():
        assert rpc.contains_unknowns is sdk_contains_unknowns


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_a_run_with_the_swaps_registers_what_a_run_on_the_sdks_own_code_registers(monkeypatch, preview):
    """The first preview is where contains_unknowns answers True: every computed output unknown."""
    trimmed = run_program("staging", preview=True) if preview else program_run("staging")
    monkeypatch.setattr(sdk_trims, "SWAPS", ())
    untrimmed = run_program("staging", preview=preview)
    assert [r.to_json() for r in untrimmed.resources] == [r.to_json() for r in trimmed.resources]
    assert untrimmed.outputs == trimmed.outputs
    assert untrimmed.secret_outputs == trimmed.secret_outputs
