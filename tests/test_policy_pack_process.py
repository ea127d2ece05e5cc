"""The policy pack's process (tools/policy_check.py PolicyPackProcess): how it is spawned, and
that it does not outlive the gate that started it."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.harness.processes import assert_dies_with_its_parent


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "__register_atfork")
    except OSError:
        return False


#: Runs in a process of its own, as a gate's caller: a pack started and answering; prints its pid.
STARTS_A_PACK = """
import sys
sys.path.insert(0, sys.argv[1])
from tools.policy_check import PolicyPackProcess
pack = PolicyPackProcess()
pack.analyzer
print(pack.process.pid, flush=True)
"""

#: A C-level fork handler in the child, as gRPC's is (pthread_atfork): it ends the child at once.
#: glibc runs such handlers on fork(), never on vfork().
ENDS_EVERY_FORKED_CHILD = """
import ctypes
libc = ctypes.CDLL("libc.so.6")
libc.__register_atfork(None, None, ctypes.cast(libc._exit, ctypes.c_void_p), None)
"""


@pytest.mark.skipif(not _glibc(), reason="glibc's __register_atfork")
def test_a_pack_is_spawned_without_running_a_fork_handler_in_its_child():
    """gRPC's fork handler restarts its poller in a forked child; with another gate's channel
    open, the child then dies before exec on an epoll descriptor close_fds has closed
    (grpc/grpc#43055). The pack must be spawned where no fork handler runs: by vfork."""
    result = subprocess.run(
        [sys.executable, "-c", ENDS_EVERY_FORKED_CHILD + STARTS_A_PACK + "pack.close()\n", str(ROOT)],
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
    assert_dies_with_its_parent(gate, "pack")
