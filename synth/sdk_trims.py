"""What an offline run does not ask of the SDK: two per-resource steps, swapped during a mock run.

Issue #29 measured the SDK's own work per resource as most of a program run under the mock
runtime, and asked to trim what the offline run does not need. Two steps, read in pulumi 3.272.0:

- `pulumi.runtime.resource._get_stack_trace` walks the Python stack of every resource the
  program creates (`traceback.extract_stack`, which stats and reads source lines) so that the
  engine can point a diagnostic at a line. The mock monitor has no engine and drops it; nothing
  offline reads a source position.
- `pulumi.runtime.rpc.contains_unknowns` runs on every output the SDK resolves. It defines a
  recursive function inside itself, whose closure refers to the function: each call leaves a
  reference cycle that only the cyclic collector frees, 25,000 of them in a prod run. The
  replacement is the same walk, written at module level.

`offline_sdk()` swaps both for the length of a run and puts the SDK's own back after, so a
caller in the same process that is not a mock run sees the SDK unchanged. Only on the SDK
release they were read from: on any other, the SDK's own code runs (slower, never wrong) and
`tests/test_sdk_trims.py` fails until they are read again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import version
from typing import Any

from pulumi.runtime import known_types, rpc
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

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


SWAPS = ((sdk_resource, "_get_stack_trace", no_stack_trace), (rpc, "contains_unknowns", contains_unknowns))


@cache
def applies() -> bool:
    return version("pulumi") == READ_AT


@contextmanager
def offline_sdk() -> Iterator[None]:
    """The SDK with both steps swapped, for one mock run; its own functions are back after."""
    if not applies():
        yield
        return
    originals = [(module, name, getattr(module, name)) for module, name, _ in SWAPS]
    for module, name, replacement in SWAPS:
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
