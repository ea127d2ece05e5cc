"""Runs `__main__.py` under the Pulumi SDK's own mock runtime and records what it registers.

This is what `make synth` and the tests share: the real program, real SDK resource classes and
real serialization, with the engine replaced by `pulumi.runtime.set_mocks`. It needs no CLI,
no plugins, no credentials and no network.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from stacks.stack_file import ROOT, project_name, stack_config
from synth.mock_outputs import computed_outputs, invoke_result
from synth.sdk_trims import offline_sdk

SECRET_MARKER = "[secret]"
#: How an input that is unknown until apply is recorded: the engine's own sentinel string.
UNKNOWN = rpc.UNKNOWN


@dataclass
class RegisteredResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    providers: dict[str, str]
    protect: bool
    ignore_changes: list[str]
    delete_before_replace: bool
    retain_on_delete: bool
    dependencies: list[str]
    #: property -> URNs its value came from.
    property_dependencies: dict[str, list[str]]
    #: Inputs with every secret value replaced by SECRET_MARKER: safe to write and print.
    inputs: dict[str, Any]
    #: Property paths (dotted) whose values were secret.
    secret_paths: list[str]
    #: Secret path -> a short digest of its value: a plan diff can say "changed", never what.
    secret_digests: dict[str, str] = field(default_factory=dict)
    #: The resource's own create timeout (`custom_timeouts`), e.g. "15m"; empty: the provider's.
    create_timeout: str = ""
    #: Inputs with secrets unwrapped; for assertions only, never written out.
    plain_inputs: dict[str, Any] = field(repr=False, default_factory=dict)
    #: What the mock engine answered (inputs plus computed outputs such as ARNs); tests only.
    state: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "options": {
                "protect": self.protect,
                "ignoreChanges": self.ignore_changes,
                "deleteBeforeReplace": self.delete_before_replace,
                "retainOnDelete": self.retain_on_delete,
                "dependsOn": self.dependencies,
                "createTimeout": self.create_timeout,
                "propertyDependencies": self.property_dependencies,
                "providers": self.providers,
            },
            "inputs": self.inputs,
            "secretPaths": self.secret_paths,
            "secretDigests": self.secret_digests,
        }


@dataclass
class ProgramRun:
    project: str
    stack: str
    config: dict[str, str]
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> RegisteredResource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str, type_: str | None = None) -> RegisteredResource:
        return next(r for r in self.resources if r.name == name and type_ in (None, r.type))

    def by_urn(self, urn: str) -> RegisteredResource:
        return next(r for r in self.resources if r.urn == urn)

    def provider_of(self, resource: RegisteredResource) -> RegisteredResource | None:
        if not resource.provider:
            return None
        return self.by_urn(resource.provider.rsplit("::", 1)[0])

    def ancestors(self, resource: RegisteredResource) -> Iterator[RegisteredResource]:
        while resource.parent and not resource.parent.endswith(f"pulumi:pulumi:Stack::{self.project}-{self.stack}"):
            resource = self.by_urn(resource.parent)
            yield resource

    def component_of(self, resource: RegisteredResource) -> str:
        """Type of the outermost smartdairy component holding the resource ('' if none)."""
        outer = [a.type for a in self.ancestors(resource) if a.type.startswith("smartdairy:")]
        return outer[-1] if outer else ""


class _PlatformMocks(pulumi.runtime.Mocks):
    """Answers like AWS would: ARNs and endpoints carry the region of the resource's provider.

    With `first_preview`, it answers like the engine's preview of a stack that does not exist
    yet: a resource echoes its inputs, its ID and every provider-computed output are unknown.
    """

    def __init__(self, region: str, first_preview: bool = False):
        self.region = region
        self.first_preview = first_preview
        #: provider resource name -> region; keyed by name since a previewed ID is unknown.
        self._provider_regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:providers:aws":
            self._provider_regions[args.name] = args.inputs.get("region", self.region)
        if self.first_preview:
            return "", dict(args.inputs)
        state = dict(args.inputs)
        state.update(computed_outputs(args.typ, args.name, args.inputs, self._region_of(args.provider)))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return invoke_result(args.token, args.args, self._region_of(args.provider))

    def _region_of(self, provider: str | None) -> str:
        """The region of the provider a resource or invoke names (`<urn>::<id>`)."""
        provider_urn = (provider or "").rsplit("::", 1)[0]
        return self._provider_regions.get(provider_urn.rsplit("::", 1)[-1], self.region)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[RegisteredResource] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            secret_paths: list[str] = []
            digests: dict[str, str] = {}
            self.registrations.append(
                RegisteredResource(
                    urn=response.urn,
                    **{field: getattr(request, field) for field in ("type", "name", "custom", "parent", "provider")},
                    providers=dict(request.providers),
                    protect=bool(request.protect),
                    ignore_changes=list(request.ignoreChanges),
                    delete_before_replace=request.deleteBeforeReplace,
                    retain_on_delete=bool(request.retainOnDelete),
                    # The SDK gathers dependencies in sets: sorted, artifacts do not depend on hashing.
                    dependencies=sorted(request.dependencies),
                    property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
                    inputs=_mask_secrets(inputs, "", secret_paths, digests),
                    secret_paths=secret_paths,
                    secret_digests=digests,
                    create_timeout=request.customTimeouts.create,
                    plain_inputs=_unwrap_secrets(inputs),
                    state=_unwrap_secrets(self.resources[response.urn].state),
                )
            )
        return response


def _mask_secrets(value: Any, path: str, found: list[str], digests: dict[str, str]) -> Any:
    value = _integral(value)
    if rpc.is_rpc_secret(value):
        found.append(path)
        plain = json.dumps(_unwrap_secrets(value), sort_keys=True, default=repr)
        digests[path] = hashlib.sha256(f"smartdairy-plan:{plain}".encode()).hexdigest()[:12]
        return SECRET_MARKER
    if isinstance(value, dict):
        return {k: _mask_secrets(v, f"{path}.{k}" if path else k, found, digests) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v, f"{path}[{i}]", found, digests) for i, v in enumerate(value)]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return asset_form(value)


#: The engine's signatures of assets and archives on the wire (sdk/go/common/resource/sig).
SIG_KEY, ASSET_SIG, ARCHIVE_SIG = (
    "4dabf18193072939515e22adb298388d",
    "c44067f5952c0a294b673a41bacd8c17",
    "0def7320c3a5731c473e5ecbe6d01bc7",
)


def asset_form(value: Any) -> Any:
    """An asset or archive (a Lambda's code) in the engine's wire form, with a digest of each
    file's content: stable across runs, and a changed file shows in the plan."""
    if isinstance(value, pulumi.AssetArchive):
        return {SIG_KEY: ARCHIVE_SIG, "assets": {name: asset_form(a) for name, a in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset):
        digest = hashlib.sha256(Path(value.path).read_bytes()).hexdigest()
        return {SIG_KEY: ASSET_SIG, "path": Path(value.path).name, "hash": digest}
    return repr(value)


def _integral(value: Any) -> Any:
    """The engine's protobuf Struct carries every number as a double (2.0 was 2 in the program);
    an unknown value becomes the engine's sentinel, as the policy pack receives it."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _unwrap_secrets(value: Any) -> Any:
    value = _integral(value)
    if rpc.is_rpc_secret(value):
        return _unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def run_program(
    stack: str,
    project_dir: Path = ROOT,
    config: dict[str, str] | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Run `__main__.py` for `stack`. `config` replaces the stack file's config when given."""
    secret_keys: list[str] = []
    if config is None:
        config, secret_keys = stack_config(stack, project_dir)

    def program() -> None:
        previous_cwd = os.getcwd()
        sys.path.insert(0, str(project_dir))
        try:
            os.chdir(project_dir)
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(previous_cwd)
            sys.path.remove(str(project_dir))

    return run_callable(program, stack, config, secret_keys, preview, project_name(project_dir))


def run_callable(
    program: Callable[[], Any],
    stack: str = "test",
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    project: str | None = None,
) -> ProgramRun:
    """Run any function as a Pulumi program (a component test builds one component here)."""
    project = project or project_name()
    config = dict(config or {})
    mocks = _PlatformMocks(config.get("aws:region", "eu-west-1"), first_preview=preview)
    monitor = _RecordingMonitor(mocks)

    set_root_resource(None)  # type: ignore[arg-type]  # each run gets a fresh root Stack resource
    pulumi.runtime.set_all_config(config, secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    with without_cycle_collection(), offline_sdk():
        program()
        _sync_await(wait_for_rpcs())
        outputs, secret_outputs = _resolve_outputs()
    # Registration is asynchronous: sort so artifacts and assertions do not depend on timing.
    resources = sorted(monitor.registrations, key=lambda r: r.urn)
    return ProgramRun(project, stack, config, resources, outputs, secret_outputs)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pauses CPython's cyclic garbage collector for one program run.

    A run allocates some 15,000 tasks and 60,000 callbacks and futures, so the collector's
    generation counters trip constantly, and each full pass walks every object the SDK's modules
    hold (pulumi_aws alone is most of the heap). Measured on prod: half the run's time, for a
    few megabytes reclaimed. Reference counting still frees everything acyclic; the cycles a run
    leaves are collected after it, when the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _resolve_outputs() -> tuple[dict[str, Any], set[str]]:
    root = pulumi.runtime.get_root_resource()
    assert isinstance(root, pulumi.runtime.stack.Stack), "the program ran without a root stack"
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in root.outputs.items():
        output = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return outputs, secret
