"""tools/synth.py: interrupted while it waits (on the packs, on the capacity model), the synth ends at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from synth.background import free_cores
from tests.conftest import ROOT, program_run
from tests.harness.processes import children_of, running, wait_until
from tools import synth


class StalledGate:
    """A pack that never answers its configuration until it is stopped."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def configure(self, _config: dict) -> None:
        self.stopped.wait()
        raise RuntimeError("policy pack did not start")

    def close(self) -> None:
        self.stopped.set()


class Finished:
    def __init__(self, value: object) -> None:
        self.value = value

    def result(self) -> object:
        return self.value


@pytest.mark.parametrize(
    "interruption",
    [SystemExit(143), KeyboardInterrupt(), BrokenPipeError(32, "Broken pipe"), OSError(28, "No space left on device")],
    ids=["a caller's SystemExit", "a caller's Ctrl-C", "closed pipe", "full disk"],
)
def test_an_interruption_while_the_packs_check_stops_them_and_is_raised(monkeypatch, tmp_path, interruption):
    run = program_run("staging")
    monkeypatch.setattr(synth, "run_program", lambda _stack: run)

    def interrupted(*_args: object) -> None:
        raise interruption

    monkeypatch.setattr(synth, "write_artifacts", interrupted)
    gates = [StalledGate(), StalledGate()]
    raised: list[BaseException] = []

    def call() -> None:
        try:
            synth.synth("staging", tmp_path, Finished(run), gates)  # type: ignore[arg-type]
        except BaseException as exc:
            raised.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    try:
        caller.join(60)
        assert not caller.is_alive(), "the synth waited on a pack that was never stopped"
        assert raised == [interruption]
        assert all(gate.stopped.is_set() for gate in gates)
    finally:
        for gate in gates:  # a synth that never stopped them: let its check end, so the suite does
            gate.stopped.set()


def test_bad_price_input_exits_2_before_anything_is_written(monkeypatch, tmp_path, capsys):
    run = program_run("staging")
    monkeypatch.setattr(synth, "run_program", lambda _stack: run)

    def unusable(_run: object) -> None:
        raise ValueError("prices/eu-west-1.json: no price for db.r7g.4xlarge")

    monkeypatch.setattr(synth, "estimate", unusable)
    assert synth.synth("staging", tmp_path, Finished(run), []) == 2  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err.strip() == (
        "error: stack 'staging': prices/eu-west-1.json: no price for db.r7g.4xlarge"
    )


class Interrupted:
    def result(self) -> object:
        raise SystemExit(143)  # a caller's own handler, while this process waited on the capacity child


def test_an_interruption_while_waiting_on_the_capacity_model_is_raised_before_anything_is_written(
    monkeypatch, tmp_path
):
    run = program_run("staging")
    monkeypatch.setattr(synth, "run_program", lambda _stack: run)
    with pytest.raises(SystemExit) as raised:
        synth.synth("staging", tmp_path, Finished(run), [StalledGate()], Interrupted())  # type: ignore[arg-type,list-item]
    assert raised.value.code == 143
    assert list(tmp_path.iterdir()) == []


#: The synth's children on these machines: a pack per core (two), then the capacity model's
#: and the first preview's runs, forked (synth/background.py).
PACKS, ALL = 2, 4


@pytest.mark.parametrize(
    ("ending", "started"),
    [(signal.SIGTERM, PACKS), (signal.SIGTERM, ALL), (signal.SIGINT, ALL)],
    ids=["SIGTERM as the packs start", "SIGTERM with every child started", "Ctrl-C"],
)
def test_a_synth_sent_a_signal_exits_at_once_and_leaves_no_child(tmp_path, ending, started):
    """A cancelled CI job, or Ctrl-C: the synth ends with 128 + the signal and one line saying
    so, its packs and forked runs stopped, no traceback, nothing written."""
    if free_cores() < 2:
        pytest.skip("on one core the synth starts one pack and forks no run")
    process = subprocess.Popen(
        [sys.executable, "tools/synth.py", "staging", "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()  # a child that ended may be reaped before the next one starts

    def children_started() -> bool:
        seen.update(children_of(process.pid))
        return len(seen) >= started

    try:
        # Children mean the handlers are set: the synth sets them before main() starts any.
        assert wait_until(children_started, seconds=60), f"the synth started {len(seen)} of {started} children"
        process.send_signal(ending)
        stderr = process.communicate(timeout=60)[1]
    finally:
        process.kill()
    assert process.returncode == 128 + ending, stderr
    assert stderr == f"synth: ended by {ending.name}\n"
    assert wait_until(lambda: not [pid for pid in seen if running(pid)], seconds=10)
    assert not (tmp_path / "staging").exists()


#: A process that handles a signal as the synth does and is sent it from inside a fork callback,
#: where a handler's exception is printed as ignored and the process goes on (CI, 2026-12-01).
SIGNAL_IN_A_FORK_CALLBACK = """
import os, signal, sys, time
from tools import synth
ending = signal.Signals[sys.argv[1]]
signal.signal(ending, synth.end_at_once)
os.register_at_fork(after_in_parent=lambda: (os.kill(os.getpid(), ending), time.sleep(1)))
if os.fork() == 0:
    os._exit(0)
print("went on after the signal")
"""


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_that_arrives_in_a_fork_callback_still_ends_the_synth(ending):
    ended = subprocess.run(
        [sys.executable, "-c", SIGNAL_IN_A_FORK_CALLBACK, ending.name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ended.returncode, ended.stdout, ended.stderr) == (128 + ending, "", f"synth: ended by {ending.name}\n")
