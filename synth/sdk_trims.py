"""What an offline run does not ask of the SDK: three per-resource steps, swapped during a mock run.

Issue #29 measured the SDK's own work per resource as most of a program run under the mock
runtime, and asked to trim what the offline run does not need. Three steps, read in pulumi 3.272.0:

- `pulumi.runtime.resource._get_stack_trace` walks the Python stack of every resource the
  program creates (`traceback.extract_stack`, which stats and reads source lines) so that the
  engine can point a diagnostic at a line. The mock monitor has no engine and drops it; nothing
  offline reads a source position.
- `pulumi.runtime.rpc.contains_unknowns` runs on every output the SDK resolves. It defines a
  recursive function inside itself, whose closure refers to the function: each call leaves a
  reference cycle that only the cyclic collector frees, 25,000 of them in a prod run. The
  replacement is the same walk, written at module level.
- Every call to the resource monitor (`RegisterResource`, `Invoke`, ...) goes through the event
  loop's default executor: a hop to a worker thread and back, for a gRPC call that may block on
  the engine. The mock monitor answers in microseconds, in Python, under the same GIL, so the
  hop is pure cost: a fifth of a run's CPU. During a run the loop's default executor answers on
  the loop's own thread. The mock monitor's `_sync_await` of the state it serializes is driven
  to its end directly: that state is plain values, which wait on nothing, and the SDK's own
  `_sync_await` would pump the running loop from inside one of its steps, running other tasks
  nested in it.

`offline_sdk()` swaps them for the length of a run and puts the SDK's own back after, so a
caller in the same process that is not a mock run sees the SDK unchanged. Only on the SDK
release they were read from: on any other, the SDK's own code runs (slower, never wrong) and
`tests/test_sdk_trims.py` fails until they are read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from importlib.metadata import version
from typing import Any, TypeVar

from pulumi.runtime import known_types, rpc
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

T = TypeVar("T")

#: The SDK release whose code the swaps below were read from (requirements.txt pins it).
READ_AT = "3.272.0"


def no_stack_trace() -> source_pb2.StackTrace:
    """What `_get_stack_trace` returns when it finds no user frame: no source position."""
    return source_pb2.StackTrace()


def contains_unknowns(value: Any) -> bool:
    """`rpc.contains_unknowns` without its per-call reference cycle: same walk, same answer."""
    return _walk_for_unknowns(value, set())


def _walk_for_unknowns(value: Any, seen_ids: set[int]) -> bool:
    if known_types.is_unknown(value):
        return True
    if id(value) in seen_ids:
        return False
    seen_ids.add(id(value))
    if isinstance(value, dict):
        return any(_walk_for_unknowns(value[key], seen_ids) for key in value)
    if isinstance(value, list):
        return any(_walk_for_unknowns(item, seen_ids) for item in value)
    return False


class AnsweredInline(ThreadPoolExecutor):
    """A default executor that calls each function on the caller's thread and hands back its
    settled future: what `run_in_executor` returns then resolves on the loop's next step, as it
    would when a worker thread finished. No thread is ever started. Only an `Exception` is a
    result; any other BaseException (KeyboardInterrupt, SystemExit) ends the run
    from where it was raised, as it would on the loop's thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def settle(awaitable: Awaitable[T]) -> T:
    """The mock monitor's `_sync_await`, on the loop's thread: a coroutine that waits on nothing
    (the plain values of a mock's state) runs to its end here, and no other task runs meanwhile.

    One that waits on a future (a program that passes a resource object as an input gets it back
    in the mock's state, and serializing it waits on its URN) goes on once the SDK's own
    `_sync_await` has pumped the loop until that future is done, with the future's outcome raised
    or returned inside it, as a task would. That pump nests, one level per registration waiting
    at once (in a review, 50 at once worked and 400 ended in RecursionError). The SDK's own code
    hangs there from the first one: its worker thread waits on a future of the loop. This
    program passes no resource as an input; its runs register the same with and without the
    swaps (tests/test_sdk_trims.py)."""
    if not asyncio.iscoroutine(awaitable):
        return _sync_await(awaitable)
    while True:
        try:
            waited_on = awaitable.send(None)
        except StopIteration as finished:
            return finished.value
        _sync_await(asyncio.wait({waited_on}) if asyncio.isfuture(waited_on) else asyncio.sleep(0))


SWAPS = (
    (sdk_resource, "_get_stack_trace", no_stack_trace),
    (rpc, "contains_unknowns", contains_unknowns),
    (sdk_mocks, "_sync_await", settle),
)


@cache
def applies() -> bool:
    return version("pulumi") == READ_AT


@contextmanager
def offline_sdk() -> Iterator[None]:
    """The SDK with its steps swapped, for one mock run; its own functions are back after."""
    if not applies():
        yield
        return
    originals = [(module, name, getattr(module, name)) for module, name, _ in SWAPS]
    for module, name, replacement in SWAPS:
        setattr(module, name, replacement)
    try:
        with monitor_answered_inline():
            yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


@contextmanager
def monitor_answered_inline() -> Iterator[None]:
    """The loop the SDK runs on gets `AnsweredInline` as its default executor for the block.
    asyncio has no public way back to "none yet" (it makes one on first use), so the one before
    is put back through the attribute `set_default_executor` writes."""
    loop = _ensure_event_loop()
    before = loop._default_executor
    loop.set_default_executor(AnsweredInline())
    try:
        yield
    finally:
        loop._default_executor = before
