"""The policy pack's process (tools/policy_check.py PolicyPackProcess): how it is spawned, and
that it does not outlive the gate that started it."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import ROOT

#: Runs in a process of its own, as a gate's caller: a fork handler that reports itself if it
#: runs in a child, then a pack started and answering.
STARTS_A_PACK = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.register_at_fork(after_in_child=lambda: os.write(1, b"a fork handler ran in the pack's child\\n"))
from tools.policy_check import PolicyPackProcess
pack = PolicyPackProcess()
pack.analyzer
print(pack.process.pid, flush=True)
"""


def test_a_pack_is_spawned_without_running_a_fork_handler_in_its_child():
    """gRPC's fork handler restarts its poller in a forked child; with another gate's channel
    open, the child then dies before exec on an epoll descriptor close_fds has closed
    (grpc/grpc#43055). No handler of the caller's may run in the pack's child."""
    result = subprocess.run(
        [sys.executable, "-c", STARTS_A_PACK + "pack.close()\n", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().isdigit(), result.stdout


def test_a_pack_dies_with_the_gate_that_started_it():
    """A gate killed outright (SIGKILL, a cancelled CI job) runs no cleanup: the kernel ends its
    pack (PR_SET_PDEATHSIG, asked for by the pack's own process)."""
    gate = subprocess.Popen(
        [sys.executable, "-c", STARTS_A_PACK + "import time; time.sleep(120)\n", str(ROOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert gate.stdout is not None
        pack = int(gate.stdout.readline())
        assert _alive(pack)
    finally:
        gate.kill()
        gate.wait()
    deadline = time.monotonic() + 10
    while _alive(pack) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pack), f"the pack {pack} outlived its gate"


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie left for init to reap."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
