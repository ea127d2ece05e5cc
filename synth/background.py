"""A call run in a forked child while this process does other work, when a core is free for it.

The synth's two modes are independent whole-program runs under the mock runtime: the first
preview runs in a child forked before any thread or gRPC channel exists (the synth has loaded
the provider modules by then, so the child shares them) and sends its ProgramRun back pickled.
The capacity model the packs' config needs runs in another, forked earlier, while the synth
loads those modules. On one core, without fork, or off the main thread, the call runs here,
when its result is asked for.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any


def free_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Background:
    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        self._call = (fn, args, kwargs)
        self._process: Any = None
        if free_cores() >= 2 and "fork" in multiprocessing.get_all_start_methods() and _on_the_main_thread():
            context = multiprocessing.get_context("fork")
            self._receiver, sender = context.Pipe(duplex=False)
            call = (os.getpid(), self._receiver, sender, fn, args, kwargs)
            self._process = context.Process(target=_child, args=call, daemon=True)
            self._process.start()
            sender.close()

    def result(self) -> Any:
        """The call's return value, or its exception raised here."""
        if self._process is None:
            fn, args, kwargs = self._call
            return fn(*args, **kwargs)
        try:
            ok, value = self._receiver.recv()
        except EOFError:
            self._process.join()
            code, self._process = self._process.exitcode, None
            raise RuntimeError(f"the background run ended without a result (exit code {code})") from None
        self._process.join()
        self._process = None
        if ok:
            return value
        raise value

    def close(self) -> None:
        """Stops a child whose result nobody asked for (the synth ended before it needed it: bad
        input, a failed run, an interruption)."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None


def _child(parent: int, receiver: Any, sender: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    _die_with(parent)
    # The parent's end: closed here, so a parent that dies leaves this send a broken pipe.
    receiver.close()
    try:
        sender.send((True, fn(*args, **kwargs)))
    except BaseException as exc:
        try:
            sender.send((False, exc))
        except Exception:  # an exception that does not pickle
            sender.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _die_with(parent: int) -> None:
    """The kernel kills this child when the thread that forked it ends, however it ends: a
    synth ended by SIGTERM exits at once (`os._exit`) and a SIGKILLed one runs no cleanup, and
    neither leaves a whole-program run going for seconds after it (Linux's PR_SET_PDEATHSIG; a
    Background is made on the main thread). A parent gone before that was set shows as another
    parent pid."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: close() still stops the child
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(1)


def _on_the_main_thread() -> bool:
    """A child dies with the thread that forked it (`_die_with`): forked from a worker thread, it
    would die when that thread ended, so off the main thread the call runs inline."""
    return threading.current_thread() is threading.main_thread()


#: prctl(2)'s option for the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
