"""A call run in a forked child while this process does other work, when a core is free for it.

The synth's two modes are independent whole-program runs under the mock runtime: the first
preview runs in a child forked before any thread or gRPC channel exists (the synth has loaded
the provider modules by then, so the child shares them) and sends its ProgramRun back pickled.
The capacity model the packs' config needs runs in another, forked earlier, while the synth
loads those modules. On one core, or without fork, the call runs here, when its result is
asked for.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any


def free_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Background:
    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        self._call = (fn, args, kwargs)
        self._process: Any = None
        if free_cores() >= 2 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receiver, sender = context.Pipe(duplex=False)
            self._process = context.Process(target=_child, args=(self._receiver, sender, fn, args, kwargs), daemon=True)
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


def _child(receiver: Any, sender: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    # The parent's end: closed here, so a parent that dies leaves this send a broken pipe.
    receiver.close()
    try:
        sender.send((True, fn(*args, **kwargs)))
    except BaseException as exc:
        try:
            sender.send((False, exc))
        except Exception:  # an exception that does not pickle
            sender.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
