"""`make bench-synth`: the synth of a stack (both modes and the policy gate) against its import
floor, in paired runs that alternate the two, so drift on a shared machine hits both alike.

The floor is a fresh interpreter importing exactly the modules the synth's process has loaded
when it ends (listed by one synth run first). Prints each pair, the medians and their ratio;
`--json` writes them too. The target (issue #29): the synth within 1.5 times its floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Lists the modules a synth has loaded, then exits as the synth did.
LIST_MODULES = """
import runpy, sys
sys.argv = ["tools/synth.py", {stack!r}]
try:
    runpy.run_path("tools/synth.py", run_name="__main__")
except SystemExit:
    pass
names = sorted(m for m in list(sys.modules) if m != "__main__" and not m.startswith("_pytest"))
open({out!r}, "w").write("\\n".join(names))
"""
#: Imports the listed modules, each as the synth loaded it, with the cyclic collector paused from
#: the first import (the synth pauses it only once its own imports are done): the fastest
#: import there is, so the ratio is not flattered by the synth's setting.
FLOOR = """
import gc, importlib, sys
gc.disable()
sys.path.insert(0, ".")
for name in open({path!r}).read().split():
    try:
        importlib.import_module(name)
    except Exception:
        pass  # a module the synth made at run time (none importable by name)
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="prod")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        modules = str(Path(tmp) / "modules.txt")
        subprocess.run(
            [sys.executable, "-c", LIST_MODULES.format(stack=args.stack, out=modules)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        synth = [sys.executable, "tools/synth.py", args.stack]
        floor = [sys.executable, "-c", FLOOR.format(path=modules)]
        pairs = []
        for i in range(args.pairs):
            pair = (timed(synth), timed(floor))
            pairs.append(pair)
            print(f"pair {i + 1}: synth {pair[0]:.2f} s, floor {pair[1]:.2f} s, ratio {pair[0] / pair[1]:.2f}")
        count = len(Path(modules).read_text().split())
    synth_s, floor_s = (statistics.median(p[i] for p in pairs) for i in (0, 1))
    print(
        f"{args.stack}: synth (both modes, policy gate) {synth_s:.2f} s, import floor ({count} modules) "
        f"{floor_s:.2f} s, ratio {synth_s / floor_s:.2f} (medians of {len(pairs)} pairs)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"synthS": synth_s, "floorS": floor_s, "ratio": synth_s / floor_s, "pairs": pairs, "modules": count},
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
