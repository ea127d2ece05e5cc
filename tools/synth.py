"""`make synth STACK=<name>`: the offline main job.

Runs the real program for one stack under the Pulumi mock runtime twice: as an update sees it
(computed outputs known, AWS-shaped) and as the first `pulumi preview` of a new stack sees it
(every ID and provider-computed output unknown). Prints what the first run registers, writes
`build/<stack>/resources.json` and `build/<stack>/manifests/`, and runs the policy gate
(tools/policy_check.py) over both runs; any mandatory violation fails. No Pulumi CLI, cloud
credentials or network needed.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import shutil
import signal
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks.loader import ConfigError
from stacks.stack_file import load_stack
from synth.background import Background, free_cores
from synth.mock_runtime import ROOT, SECRET_MARKER, ProgramRun, run_program
from synth.preload import preload, program_files
from tools.cost import StackEstimate, stack_estimate
from tools.policy_check import PolicyGate, capacity_figures, pack_config, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name; reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output directory")
    parser.add_argument("--skip-policies", action="store_true", help="do not run the policy gate")
    args = parser.parse_args(argv)
    # The packs start first, one per core (a pack answers on one core, so the two modes' gates
    # run side by side), and load on the second core while this process loads the provider
    # modules the program names; so does the capacity model the packs' config needs. Then the
    # first-preview run forks, finds them loaded, and runs on the second core while this process
    # runs the update. A pack's gRPC channel opens at its first call, after the forks.
    try:
        load_stack(args.stack)  # 15 ms: bad input exits 2 before a pack or a child starts
    except (ConfigError, FileNotFoundError) as exc:
        return bad_input(args.stack, exc)
    gates: list[PolicyGate] = []
    children: list[Background] = []
    try:
        gates += [] if args.skip_policies else [PolicyGate() for _ in range(min(free_cores(), 2))]
        capacity = Background(capacity_figures, args.stack) if gates else None
        children += [capacity] if capacity else []
        preload(program_files(ROOT))
        preview = Background(run_program, args.stack, preview=True)
        children.append(preview)
        return synth(args.stack, args.out, preview, gates, capacity)
    finally:
        for child in children:
            child.close()
        for gate in gates:
            gate.close()


def synth(
    stack: str, build: Path, preview: Background, gates: list[PolicyGate], capacity: Background | None = None
) -> int:
    """Bad input (the stack's config, a price file) exits 2 before anything is written."""
    try:
        run = run_program(stack)
        first_preview = preview.result()
    except (ConfigError, FileNotFoundError) as exc:
        return bad_input(stack, exc)
    try:
        priced = estimate(run)
    except ValueError as exc:  # a price file that cannot be used
        print(f"error: stack {stack!r}: {exc}", file=sys.stderr)
        return 2
    modes = {"update": run, "first preview": first_preview}
    # Here, not in the check's thread, where an interruption would wait on it.
    capacity_of_stack = capacity.result() if capacity else None
    # The packs check both modes while this process writes the artifacts.
    with ThreadPoolExecutor(1) as background:
        checking = background.submit(check, stack, priced, modes, gates, capacity_of_stack)
        try:
            out = build / stack
            write_artifacts(run, out)
            write_estimate(priced, out)
            print(summary(run, out))
            print(estimate_line(priced))
            print(f"first preview (IDs and computed outputs unknown): {len(first_preview.resources)} registrations")
            results = checking.result()
        except BaseException:
            # A closed pipe, a full disk, a caller's own Ctrl-C: the packs stop first, so a check
            # waiting on one ends at once and leaving this block does not wait for both modes.
            for gate in gates:
                gate.close()
            raise
    failed = False
    for label, diagnostics in results.items():
        print(f"--- policy gate, {label}")
        print(report(diagnostics))
        failed |= any(d.level == "mandatory" for d in diagnostics)
    return 1 if failed else 0


def bad_input(stack: str, exc: ConfigError | FileNotFoundError) -> int:
    """A problem of the stack's config (one line per key), or a file it needs that is missing."""
    print(f"error: stack {stack!r}: {exc}" if isinstance(exc, ConfigError) else f"error: {exc}", file=sys.stderr)
    return 2


def check(
    stack: str,
    priced: StackEstimate,
    modes: dict[str, ProgramRun],
    gates: list[PolicyGate],
    capacity_of_stack: tuple[str, dict] | None = None,
) -> dict[str, list]:
    """Each mode through a pack, side by side when there are two; {} without gates. One pack
    config for both modes: its figures price the configuration (the update run's inventory),
    which the first preview shares with unknown IDs."""
    if not gates:
        return {}
    config = pack_config(stack, cost=priced.figures(), capacity_of_stack=capacity_of_stack)
    for gate in gates:
        gate.configure(config)
    with ThreadPoolExecutor(len(gates)) as pool:
        checked = pool.map(lambda mode, gate: gate.analyze(mode), modes.values(), itertools.cycle(gates))
        return dict(zip(modes, checked, strict=True))


def write_artifacts(run: ProgramRun, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    manifests = out / "manifests"
    manifests.mkdir(parents=True)
    (out / "resources.json").write_text(
        json.dumps([r.to_json() for r in run.resources], indent=2, sort_keys=True) + "\n"
    )
    for resource in run.resources:
        if resource.type.startswith("kubernetes:") and "kind" in resource.inputs:
            meta = resource.inputs.get("metadata")
            meta = meta if isinstance(meta, dict) else {}  # a secret inside makes it all "[secret]"
            parts = (resource.inputs["kind"].lower(), meta.get("namespace"), meta.get("name") or resource.name)
            stem = "-".join(part for part in parts if part)
            ordered = {k: resource.inputs[k] for k in ("apiVersion", "kind", "metadata") if k in resource.inputs}
            ordered |= resource.inputs
            (manifests / f"{stem}.yaml").write_text(yaml.dump(ordered, Dumper=MANIFEST_DUMPER, sort_keys=False))


#: libyaml's emitter through PyYAML's safe representer: the same documents as `yaml.safe_dump`
#: (only long strings fold at other points) in a seventh of the time, 0.1 s of a prod synth.
MANIFEST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def estimate(run: ProgramRun) -> StackEstimate:
    """The run's inventory priced (cost/)."""
    return stack_estimate(run.stack, [r.to_json() for r in run.resources])


def write_estimate(found: StackEstimate, out: Path) -> None:
    """build/<stack>/cost.json, which the plan diff compares."""
    (out / "cost.json").write_text(json.dumps(found.result.as_dict(), indent=2, sort_keys=True) + "\n")


def estimate_line(found: StackEstimate) -> str:
    total = {p: f"${found.result.total(p):,.0f}" for p in found.result.points}
    line = (
        f"monthly estimate (make cost): {total['min']} at minimum, {total['target']} sized for "
        f"{found.points.points['target'].users:,.0f} users, {total['max']} at every limit"
    )
    gaps = sorted(found.result.unpriced) + sorted(found.result.missing)
    return line + (f"; NOT PRICED: {', '.join(gaps)}" if gaps else "")


def summary(run: ProgramRun, out: Path) -> str:
    by_component: dict[str, Counter] = {}
    for resource in run.resources:
        if not resource.custom:
            continue
        component = run.component_of(resource) or "(stack)"
        by_component.setdefault(component, Counter())[resource.type] += 1
    lines = [
        f"stack {run.stack}: {sum(r.custom for r in run.resources)} resources, "
        f"{sum(not r.custom for r in run.resources)} components"
    ]
    for component in sorted(by_component):
        counts = by_component[component]
        lines.append(f"  {component} ({sum(counts.values())})")
        lines += [f"    {count:3d}  {type_}" for type_, count in sorted(counts.items())]
    lines.append("outputs:")
    for name in sorted(run.outputs):
        value = SECRET_MARKER if name in run.secret_outputs else json.dumps(run.outputs[name])
        lines.append(f"  {name}: {value}")
    lines.append(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/resources.json")
    return "\n".join(lines)


def exit_now(code: int) -> None:
    """Ends the process without tearing down the interpreter: every file is written and closed,
    the packs and the preview's child are gone, and the output is flushed here. CPython's
    teardown of the 2,000 modules and the runs' objects would take 1.7 s more (docs/BENCHMARKS.md).
    A reader that went away (`| head`) ends it as a shell's SIGPIPE would."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            code = PIPE_CLOSED
        except OSError:
            pass
    os._exit(code)


def exit_status(stop: SystemExit) -> int:
    """The status Python would exit with (a message it would print goes to stderr here)."""
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)
    return 1


def end_at_once(signum: int, _frame: object) -> None:
    """SIGTERM (a cancelled CI job) and Ctrl-C end the synth here with 128 + the signal, without
    raising: an exception raised from a handler lands wherever the main thread is, and in a fork
    callback (logging's lock release, as multiprocessing forks a child) Python prints it as
    ignored and goes on with logging's lock held, so the synth hung (CI, 2026-12-01). The packs
    and the forked runs die with this process (PR_SET_PDEATHSIG, tools/policy_check.py and
    synth/background.py). Output still buffered is dropped and a file being written may be cut
    short (the next synth replaces the stack's build directory); one line says why it ended."""
    os.write(2, f"synth: ended by {signal.Signals(signum).name}\n".encode())
    os._exit(128 + signum)


#: The exit status of a writer whose reader went away (128 + SIGPIPE), as a shell reports it.
PIPE_CLOSED = 128 + signal.SIGPIPE


if __name__ == "__main__":
    # A batch process of seconds: the cyclic collector's passes over the SDK's heap cost about
    # half of its time and reclaim a few megabytes that exit returns anyway (docs/BENCHMARKS.md).
    # Set here, not in main(), so a caller in its own process keeps its collector.
    gc.disable()
    for ending in (signal.SIGTERM, signal.SIGINT):
        signal.signal(ending, end_at_once)
    try:
        exit_now(main())
    except BrokenPipeError:  # the reader went away (`| head`) while the synth was printing
        exit_now(PIPE_CLOSED)
    except SystemExit as stop:  # argparse (2, or 0 for --help)
        exit_now(exit_status(stop))
