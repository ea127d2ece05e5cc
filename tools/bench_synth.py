"""`make bench-synth`: the synth of a stack (both modes and the policy gate) against its import
floor, in rounds that alternate them, so drift on a shared machine hits all alike.

A floor is a fresh interpreter importing exactly the modules the synth's process has loaded
when it ends (listed by one synth run first): strict (with the synth's own process settings:
collector paused, no teardown) and as issue #29 measured it (a default interpreter). Prints each
round, the medians and both ratios; `--json` writes them too. The target (issue #29): the synth
within 1.5 times its floor.
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
#: Lists the modules a synth has loaded, once it has done all its work (its main, without the
#: script's fast exit).
LIST_MODULES = """
import sys
sys.path.insert(0, ".")
from tools import synth
synth.main([{stack!r}])
names = sorted(m for m in list(sys.modules) if m != "__main__" and not m.startswith("_pytest"))
open({out!r}, "w").write("\\n".join(names))
"""
#: Imports the listed modules, each as the synth loaded it.
IMPORTS = """
import importlib, sys
sys.path.insert(0, ".")
for name in open({path!r}).read().split():
    try:
        importlib.import_module(name)
    except Exception:
        pass  # a module the synth made at run time (none importable by name)
"""
#: The floors: what loading the synth's code costs at least.
FLOORS = {
    # As the synth runs: the cyclic collector paused before the first import (the synth pauses
    # it only after its own), and the process ended without the interpreter's teardown.
    "strict": "import gc; gc.disable()\n" + IMPORTS + "import os; os._exit(0)\n",
    # As issue #29 measured it (4.3 s then): a default interpreter that imports and exits.
    "default interpreter": IMPORTS,
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="prod")
    parser.add_argument("--rounds", type=int, default=5)
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
        floors = {name: [sys.executable, "-c", code.format(path=modules)] for name, code in FLOORS.items()}
        rounds = []
        for i in range(args.rounds):
            measured = {"synth": timed(synth)} | {name: timed(command) for name, command in floors.items()}
            rounds.append(measured)
            print(f"round {i + 1}: " + ", ".join(f"{name} {s:.2f} s" for name, s in measured.items()))
        count = len(Path(modules).read_text().split())
    medians = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    ratios = {name: medians["synth"] / medians[name] for name in FLOORS}
    print(f"{args.stack}: synth (both modes, policy gate) {medians['synth']:.2f} s; import floors ({count} modules):")
    for name in FLOORS:
        print(f"  {name}: {medians[name]:.2f} s, ratio {ratios[name]:.2f}")
    print(f"(medians of {len(rounds)} rounds, each alternating the synth and the floors)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {"medians": medians, "ratios": ratios, "rounds": rounds, "modules": count}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
