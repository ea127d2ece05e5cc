"""Processes as Linux's /proc shows them: for tests of what a tool leaves running."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def running(pid: int) -> bool:
    """Running: not gone, and not a zombie left for its parent (or init) to reap."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`, now."""
    found = []
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields is not None and fields[1] == str(parent):
            found.append(int(entry))
    return found


def wait_until(condition: Callable[[], T], seconds: float) -> T:
    """Polls `condition` until it is truthy or `seconds` have passed; returns its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name: state, parent pid, ..."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:  # gone, or reaped while being read
        return None
