"""The offline policy gate: the CrossGuard pack in policies/, driven exactly as the engine drives it.

Starts the pack the way `pulumi preview --policy-pack policies` does (`python -m pulumi.policy
<engine> policies`, port from its first stdout line), then speaks the Analyzer gRPC protocol:
GetAnalyzerInfo, Configure (the policy set of the stack's environment over the pack's defaults),
ConfigureStack, Analyze for every resource with its inputs, options and provider, and
AnalyzeStack with all of them. Secrets and unknown values are encoded with the engine's own
sentinels. Prints diagnostics by policy and resource; exits 1 on any mandatory violation.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synth.mock_runtime import ROOT, ProgramRun, RegisteredResource, asset_form

PACK_DIR = ROOT / "policies"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
#: The engine's placeholder for a string whose value is only known after apply.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LEVELS = {"advisory": 0, "mandatory": 1, "disabled": 2, "remediate": 3}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str
    urn: str
    message: str


def encode(resource: RegisteredResource, unknown_paths: Iterable[str] = ()) -> struct_pb2.Struct:
    """The resource's inputs as the engine sends them: secrets wrapped, unknowns as sentinels."""
    value = json.loads(json.dumps(resource.plain_inputs, default=asset_form))
    for path in resource.secret_paths:
        value = _replace(value, _split(path), lambda v: {SECRET_SIG: SECRET_VALUE, "value": v})
    for path in unknown_paths:
        value = _replace(value, _split(path), lambda _v: UNKNOWN)
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _split(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in path.replace("]", "").split("."):
        name, *indexes = token.split("[")
        parts.append(name)
        parts.extend(int(i) for i in indexes)
    return parts


def _replace(value: Any, parts: list, change) -> Any:
    if not parts:
        return change(value)
    head, *rest = parts
    in_dict = isinstance(value, dict) and head in value
    in_list = isinstance(value, list) and isinstance(head, int) and head < len(value)
    if in_dict or in_list:
        value[head] = _replace(value[head], rest, change)
    return value


#: The pack's process, after exec: the kernel is to kill it when its parent dies (Linux's
#: PR_SET_PDEATHSIG), so a killed gate leaves no pack serving behind it; a parent that died before
#: that was set shows as another parent pid. Then `python -m pulumi.policy ADDRESS PACK_DIR`.
PACK_LAUNCHER = """
import contextlib, ctypes, os, runpy, signal, sys
parent = int(sys.argv.pop(1))
with contextlib.suppress(AttributeError, OSError):  # not Linux: the gate's close() still stops it
    if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:  # 1: PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
if os.getppid() != parent:
    sys.exit("policy pack: the gate that started it has gone")
runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)
"""


class PolicyPackProcess:
    """The pack as a child process serving the Analyzer on a loopback port.

    Spawned without Python code between fork and exec, so CPython uses vfork and runs no fork
    handler in the child. With a preexec_fn it forks, and gRPC's handler restarts its poller in
    the child while another gate's channel is open; the child then dies on the epoll descriptor
    that close_fds closed, before exec (grpc/grpc#43055, grpcio 1.80 to at least 1.85). Where
    vfork is refused CPython forks instead, and a test with a C-level fork handler fails. The
    pack's own process asks to die with its parent (`PACK_LAUNCHER`)."""

    def __init__(self, pack_dir: Path = PACK_DIR):
        # -u: the pack prints its port with print(); block-buffered into a pipe, the line never
        # arrives unless the environment happens to set PYTHONUNBUFFERED.
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", PACK_LAUNCHER, str(os.getpid()), "127.0.0.1:0", str(pack_dir)],
            cwd=pack_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.channel: grpc.Channel | None = None
        self._analyzer: analyzer_pb2_grpc.AnalyzerStub | None = None

    @property
    def analyzer(self) -> analyzer_pb2_grpc.AnalyzerStub:
        """Connects on first use: the pack starts while its caller does other work."""
        if self._analyzer is None:
            assert self.process.stdout is not None and self.process.stderr is not None  # both PIPE
            line = self.process.stdout.readline().strip()
            if not line.isdigit():
                self.process.kill()
                raise RuntimeError(f"policy pack did not start: {line} {self.process.stderr.read()}")
            self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
            self._analyzer = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        return self._analyzer

    def close(self) -> None:
        """Idempotent: the synth closes a gate early when it is interrupted, and again on exit."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.process.kill()
        self.process.wait()


def pack_config(
    stack: str,
    resources: list[dict] | None = None,
    cost: dict[str, Any] | None = None,
    capacity_of_stack: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The policy set of the stack's environment plus the figures `make capacity` writes: the
    capacity model's (`capacity_of_stack` when the caller has them already), and the cost
    estimate's (`cost`, or that of `resources`, the run checked)."""
    from tools.capacity import policy_config
    from tools.cost import cost_figures

    environment, capacity = capacity_of_stack or capacity_figures(stack)
    if cost is None and resources is not None:
        cost = cost_figures(stack, resources)
    return policy_config(environment, capacity, cost)


@functools.cache
def capacity_figures(stack: str) -> tuple[str, dict[str, Any]]:
    """The stack's environment and what its capacity model answers (a tenth of a second)."""
    from stacks.stack_file import load_stack
    from tools.capacity import figures

    config, _ = load_stack(stack)
    return config.environment, figures(config)


def configure(analyzer, info, config: dict[str, Any]) -> None:
    """Every policy gets its level and properties: the stack file's over the pack's defaults
    (string shorthand `"name": "mandatory"` as in `--policy-pack-config`)."""
    requests = {}
    for policy in info.policies:
        entry = config.get(policy.name, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        level = entry.pop("enforcementLevel", LEVEL_NAMES[policy.enforcementLevel])
        properties = struct_pb2.Struct()
        properties.update(entry)
        requests[policy.name] = analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.EnforcementLevel.ValueType(LEVELS[level]), properties=properties
        )
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=requests))


class PolicyGate:
    """The pack, started and configured once, analyzing any number of runs (a synth's two modes).

    The Analyze calls of a run are pipelined: every request is sent before the first answer is
    awaited (the pack serves them on its thread pool), as the engine's many resource steps do."""

    def __init__(self, pack_dir: Path = PACK_DIR):
        """Starts the pack; `configure` before the first `analyze`."""
        self.pack = PolicyPackProcess(pack_dir)

    def configure(self, config: dict[str, Any]) -> PolicyGate:
        analyzer = self.pack.analyzer
        analyzer.GetPluginInfo(empty_pb2.Empty())
        configure(analyzer, analyzer.GetAnalyzerInfo(empty_pb2.Empty()), config)
        return self

    def __enter__(self) -> PolicyGate:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pack.close()

    def analyze(self, run: ProgramRun, unknowns: dict[str, list[str]] | None = None) -> list[Diagnostic]:
        analyzer, unknowns = self.pack.analyzer, unknowns or {}
        analyzer.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack=run.stack, project=run.project, dry_run=True)
        )
        resources = [r for r in run.resources if r.custom]
        by_urn = {r.urn: r for r in resources}

        def fields(r: RegisteredResource) -> dict:
            return dict(
                type=r.type,
                properties=encode(r, unknowns.get(r.name, ())),
                urn=r.urn,
                name=r.name,
                options=_options(r),
                provider=_provider(by_urn, r),
            )

        encoded = [fields(r) for r in resources]
        pending = [
            (r.urn, analyzer.Analyze.future(analyzer_pb2.AnalyzeRequest(**f)))
            for r, f in zip(resources, encoded, strict=True)
        ]
        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    **f,
                    parent=r.parent,
                    dependencies=r.dependencies,
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()
                    },
                )
                for r, f in zip(resources, encoded, strict=True)
            ]
        )
        diagnostics = [d for urn, future in pending for d in _diagnostics(future.result(), urn)]
        return diagnostics + _diagnostics(analyzer.AnalyzeStack(stack_request), "")


def analyze(
    run: ProgramRun,
    unknowns: dict[str, list[str]] | None = None,
    pack_dir: Path = PACK_DIR,
    config: dict[str, Any] | None = None,
) -> list[Diagnostic]:
    """One run through its own pack. `config`: the pack config to use instead of the platform
    stack's (another program's run)."""
    with configured_gate(run, config, pack_dir) as gate:
        return gate.analyze(run, unknowns)


def configured_gate(run: ProgramRun, config: dict[str, Any] | None = None, pack_dir: Path = PACK_DIR) -> PolicyGate:
    """A pack started and configured for `run`: with `config`, or the policy set and figures of
    the run's own stack. Stopped again if its configuration fails."""
    if config is None:
        config = pack_config(run.stack, [r.to_json() for r in run.resources])
    gate = PolicyGate(pack_dir)
    try:
        return gate.configure(config)
    except BaseException:
        gate.close()
        raise


def _options(resource: RegisteredResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        parent=resource.parent,
    )


def _provider(by_urn: dict[str, RegisteredResource], resource: RegisteredResource):
    if not resource.provider:
        return None
    provider = by_urn.get(resource.provider.rsplit("::", 1)[0])
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=encode(provider), urn=provider.urn, name=provider.name
    )


def _diagnostics(response, analyzed_urn: str) -> list[Diagnostic]:
    """Resource policies report without a URN: it is the resource that was analyzed. The pack
    prefixes each message with the policy description; keep only what is specific."""
    return [
        Diagnostic(
            d.policyName,
            LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
            d.urn or analyzed_urn,
            d.message.removeprefix(d.description).strip(),
        )
        for d in response.diagnostics
    ]


def report(diagnostics: list[Diagnostic]) -> str:
    if not diagnostics:
        return "policy gate: no violations"
    grouped: dict[tuple[str, str], list[Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        grouped[(diagnostic.level, diagnostic.policy)].append(diagnostic)
    lines = []
    for (level, policy), items in sorted(grouped.items()):
        lines.append(f"{level:9} {policy} ({len(items)})")
        for item in items:
            lines.append(f"            {item.urn.rsplit('::', 1)[-1] or '(stack)'}: {item.message}")
    mandatory = sum(d.level == "mandatory" for d in diagnostics)
    lines.append(f"policy gate: {mandatory} mandatory, {len(diagnostics) - mandatory} advisory")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    args = parser.parse_args(argv)
    from synth.mock_runtime import run_program

    diagnostics = analyze(run_program(args.stack))
    print(report(diagnostics))
    return 1 if any(d.level == "mandatory" for d in diagnostics) else 0


if __name__ == "__main__":
    sys.exit(main())
