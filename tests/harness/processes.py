"""Processes as Linux's /proc shows them: for tests of what a tool leaves running."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
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


def assert_dies_with_its_parent(parent: subprocess.Popen, child: str) -> None:
    """`parent` prints the pid of its `child` (a pack, a forked run) once the child is running;
    SIGKILLed, the parent runs no cleanup, so only the kernel can end the child. A failure
    leaves neither behind."""
    pid = None
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, f"the {child} did not start within 60 s"
        pid = int(parent.stdout.readline())
        assert running(pid)
        parent.kill()
        parent.wait()
        assert wait_until(lambda: not running(pid), seconds=10), f"the {child} {pid} outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name: state, parent pid, ..."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:  # gone, or reaped while being read
        return None
