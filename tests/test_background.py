"""synth/background.py: the synth's second mode in a forked child, and inline on one core."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stacks.loader import ConfigError
from synth import background
from synth.background import Background
from tests.conftest import ROOT
from tests.harness.processes import assert_dies_with_its_parent

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


#: A parent whose child prints its pid once it is running its call (so it has asked to die with
#: its parent) and then sleeps; the parent waits to be killed.
PARENT_OF_A_SLEEPING_CHILD = """
import os, time
from synth import background
def report_and_sleep():
    print(os.getpid(), flush=True)
    time.sleep(60)
background.free_cores = lambda: 2
background.Background(report_and_sleep)
time.sleep(120)
"""


def test_a_child_dies_with_its_parent_however_the_parent_ends():
    """A synth ended by SIGTERM exits without closing its children, and a SIGKILLed one cannot:
    neither may leave a whole-program run going behind it (the kernel's PR_SET_PDEATHSIG)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_OF_A_SLEEPING_CHILD], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert_dies_with_its_parent(parent, "forked run")


def test_a_child_whose_parent_is_already_gone_ends_before_its_call():
    """Killed between the fork and the prctl, the parent never takes the child with it: the
    child sees another parent and ends itself."""
    ended = subprocess.run(
        [sys.executable, "-c", "from synth.background import _die_with; _die_with(1); print('ran its call')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ended.returncode, ended.stdout) == (1, "")


def test_off_the_main_thread_the_call_runs_inline(monkeypatch):
    """A child dies with the thread that forked it, so a worker thread does not fork one."""
    monkeypatch.setattr(background, "free_cores", lambda: 2)
    with ThreadPoolExecutor(1) as worker:
        assert worker.submit(lambda: Background(double, 21).result()).result() == {"pid": os.getpid(), "value": 42}
