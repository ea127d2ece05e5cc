"""The offline run's SDK swaps (synth/sdk_trims.py): same answers, no cycles, no thread hop, scoped to a run."""

from __future__ import annotations

import asyncio
import gc
import re
import threading

import pulumi
import pulumi_aws as aws
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulumi.output import UNKNOWN
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.rpc import contains_unknowns as sdk_contains_unknowns
from pulumi.runtime.sync_await import _ensure_event_loop
from pulumi.runtime.sync_await import _sync_await as sdk_sync_await

from synth import mock_runtime, sdk_trims
from synth.mock_runtime import run_callable, run_program
from tests.conftest import ROOT, STACKS, program_run

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just(UNKNOWN))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=25,
)


def test_the_swaps_were_read_at_the_sdk_the_project_pins():
    """An SDK upgrade fails here: read the swapped functions again, then move READ_AT."""
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
    stack_trace, loop = sdk_resource._get_stack_trace, _ensure_event_loop()
    executor = loop._default_executor
    with sdk_trims.offline_sdk():
        assert rpc.contains_unknowns is sdk_trims.contains_unknowns
        assert sdk_resource._get_stack_trace is sdk_trims.no_stack_trace
        assert sdk_mocks._sync_await is sdk_trims.settle
        assert isinstance(loop._default_executor, sdk_trims.AnsweredInline)
    assert rpc.contains_unknowns is sdk_contains_unknowns
    assert sdk_resource._get_stack_trace is stack_trace
    assert sdk_mocks._sync_await is sdk_sync_await
    assert loop._default_executor is executor
    with pytest.raises(RuntimeError), sdk_trims.offline_sdk():
        raise RuntimeError("a program that fails")
    assert rpc.contains_unknowns is sdk_contains_unknowns
    assert sdk_resource._get_stack_trace is stack_trace
    assert sdk_mocks._sync_await is sdk_sync_await
    assert loop._default_executor is executor


def test_on_another_sdk_release_the_sdks_own_code_runs(monkeypatch):
    monkeypatch.setattr(sdk_trims, "applies", lambda: False)
    with sdk_trims.offline_sdk():
        assert rpc.contains_unknowns is sdk_contains_unknowns
        assert not isinstance(_ensure_event_loop()._default_executor, sdk_trims.AnsweredInline)


def _threads_answering(monkeypatch) -> set[int]:
    """The threads the mock monitor answers a two-resource program's registrations on."""
    answered_on: set[int] = set()
    register = mock_runtime._RecordingMonitor.RegisterResource

    def recording(self, request):
        answered_on.add(threading.get_ident())
        return register(self, request)

    monkeypatch.setattr(mock_runtime._RecordingMonitor, "RegisterResource", recording)

    def program():
        bucket = aws.s3.Bucket("logs")
        aws.s3.BucketVersioning("logs", bucket=bucket.id, versioning_configuration={"status": "Enabled"})
        pulumi.export("bucket", bucket.arn)

    run_callable(program)
    return answered_on


@pytest.mark.program  # a two-resource program under the mock runtime
def test_during_a_run_the_mock_monitor_answers_on_the_loops_own_thread(monkeypatch):
    assert _threads_answering(monkeypatch) == {threading.get_ident()}


@pytest.mark.program
def test_on_the_sdks_own_code_the_mock_monitor_answers_on_worker_threads(monkeypatch):
    """The control for the test above: without the swap, the hop to a worker thread is there."""
    monkeypatch.setattr(sdk_trims, "applies", lambda: False)
    assert threading.get_ident() not in _threads_answering(monkeypatch)


def test_the_inline_executor_returns_errors_as_results_and_lets_an_interrupt_end_the_run():
    executor = sdk_trims.AnsweredInline()
    assert executor.submit(lambda a, b: a + b, 2, b=3).result() == 5
    with pytest.raises(ZeroDivisionError):
        executor.submit(lambda: 1 / 0).result()
    with pytest.raises(KeyboardInterrupt):
        executor.submit(lambda: (_ for _ in ()).throw(KeyboardInterrupt))
    assert not executor._threads


def test_settle_runs_a_coroutine_that_waits_on_nothing_without_running_other_tasks():
    """Its reason to exist: the SDK's own `_sync_await`, called on the running loop, pumps it
    and runs whatever else is ready, nested inside the caller's step."""
    ran: list[str] = []

    async def plain_state():
        return {"arn": "arn:aws:s3:::logs"}

    async def monitor_call(wait):
        asyncio.get_running_loop().call_soon(ran.append, "another task")
        value = wait(plain_state())
        return value, list(ran)

    assert sdk_sync_await(monitor_call(sdk_trims.settle)) == ({"arn": "arn:aws:s3:::logs"}, [])
    ran.clear()
    assert sdk_sync_await(monitor_call(sdk_sync_await))[1] == ["another task"]  # the SDK's own


def test_settle_runs_a_coroutine_that_does_wait_to_its_end_with_the_outcome_inside_it():
    """A program passing a resource as an input makes the mock's state wait on its URN."""

    async def later(value):
        return await asyncio.sleep(0.01, result=value)

    async def failing():
        future = asyncio.get_event_loop().create_future()
        asyncio.get_event_loop().call_soon(future.set_exception, ValueError("bad state"))
        try:
            await future
        except ValueError as exc:
            return f"caught inside: {exc}"

    async def monitor_call(coroutine):
        return sdk_trims.settle(coroutine)

    assert sdk_sync_await(monitor_call(later(7))) == 7
    assert sdk_sync_await(monitor_call(failing())) == "caught inside: bad state"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_a_run_with_the_swaps_registers_what_a_run_on_the_sdks_own_code_registers(monkeypatch, stack, preview):
    """The first preview is where contains_unknowns answers True: every computed output unknown."""
    trimmed = program_run(stack, preview=preview)
    monkeypatch.setattr(sdk_trims, "applies", lambda: False)
    untrimmed = run_program(stack, preview=preview)
    assert [r.to_json() for r in untrimmed.resources] == [r.to_json() for r in trimmed.resources]
    assert untrimmed.outputs == trimmed.outputs
    assert untrimmed.secret_outputs == trimmed.secret_outputs
