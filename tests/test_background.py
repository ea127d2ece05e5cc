"""synth/background.py: the synth's second mode in a forked child, and inline on one core."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from stacks.loader import ConfigError
from synth import background
from synth.background import Background
from tests.conftest import ROOT
from tests.harness.processes import running, wait_until

pytestmark = pytest.mark.integration  # forks a process


def double(value: int) -> dict:
    return {"pid": os.getpid(), "value": value * 2}


def refuse() -> None:
    raise ConfigError(["smartdairy-platform:cost.monthlyCeilingUsd: must be greater than 0"])


def die() -> None:
    os._exit(3)


def test_on_two_cores_the_call_runs_in_a_child_and_its_result_comes_back(monkeypatch):
    monkeypatch.setattr(background, "free_cores", lambda: 2)
    result = Background(double, 21).result()
    assert result["value"] == 42 and result["pid"] != os.getpid()


def test_on_one_core_the_call_runs_here_when_asked(monkeypatch):
    monkeypatch.setattr(background, "free_cores", lambda: 1)
    assert Background(double, 21).result() == {"pid": os.getpid(), "value": 42}


def test_a_config_error_in_the_child_arrives_whole(monkeypatch):
    """Its problems, one per line, as the synth prints them: not a string split per character."""
    monkeypatch.setattr(background, "free_cores", lambda: 2)
    with pytest.raises(ConfigError) as caught:
        Background(refuse).result()
    assert caught.value.problems == ["smartdairy-platform:cost.monthlyCeilingUsd: must be greater than 0"]


def test_a_child_that_dies_is_reported_with_its_exit_code(monkeypatch):
    monkeypatch.setattr(background, "free_cores", lambda: 2)
    with pytest.raises(RuntimeError, match=r"ended without a result \(exit code 3\)"):
        Background(die).result()


def test_close_stops_a_child_whose_result_nobody_wants(monkeypatch):
    monkeypatch.setattr(background, "free_cores", lambda: 2)
    running = Background(time.sleep, 30)
    process = running._process
    running.close()
    assert process is not None and not process.is_alive()


#: A parent that starts a child's 30 s call, prints the child's pid and is then SIGKILLed.
KILLED_PARENT = """
import os, signal, time
from synth import background
background.free_cores = lambda: 2
call = background.Background(time.sleep, 30)
print(call._process.pid, flush=True)
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_child_dies_with_its_parent_however_the_parent_ends():
    """A synth ended by SIGTERM exits without closing its children, and a SIGKILLed one cannot:
    neither may leave a whole-program run going behind it."""
    parent = subprocess.Popen([sys.executable, "-c", KILLED_PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())  # not communicate(): the child holds the pipe too
        assert parent.wait(timeout=60) == -9
    finally:
        parent.kill()
    assert wait_until(lambda: not running(child), seconds=10), "the child outlived its parent"
