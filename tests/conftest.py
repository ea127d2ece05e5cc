"""Shared fixtures: whole-program runs per stack under the Pulumi mock runtime.

Mocks answer the invokes the program uses (synth/mock_outputs.py) and record every registered
resource with its parent, provider and options (synth/mock_runtime.py): the same harness as
`make synth`, so what the tests see is what synth writes.
"""

from __future__ import annotations

import atexit
import functools
import gc
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, settings

# Property tests: thorough in `make test` and CI, a quick sample in `make test-fast`.
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "thorough")
settings.load_profile(PROFILE)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _memory_backed_scratch() -> None:
    """Temporary files in memory where the machine has a tmpfs: the real servers' data
    directories (dozens of PostgreSQL clusters, etcd's synced writes), and pytest's tmp_path. On this
    machine's disk a 28 MB copy of a fresh cluster takes 0.67 s of kernel time, in /dev/shm 0.06."""
    shm = Path("/dev/shm")
    roomy = shm.is_dir() and os.access(shm, os.W_OK) and _free_bytes(shm) >= SCRATCH_NEEDS_BYTES
    if roomy and not os.environ.get("SMARTDAIRY_TEST_TMPDIR"):
        made = tempfile.mkdtemp(prefix="smartdairy-tests-", dir=shm)
        os.chmod(made, 0o755)  # readable by postgres; its directories are made here and chowned
        os.environ["SMARTDAIRY_TEST_TMPDIR"] = made  # xdist workers share the controller's
        atexit.register(shutil.rmtree, made, ignore_errors=True)  # after the workers are gone
    scratch = os.environ.get("SMARTDAIRY_TEST_TMPDIR")
    if scratch:
        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


#: What the scratch must have free to be used: a container's default /dev/shm (64 MB) holds two
#: PostgreSQL clusters; the whole suite (servers, control plane, tmp_path) peaked at 250 MB.
SCRATCH_NEEDS_BYTES = 2 * 2**30

_memory_backed_scratch()
# moto fills each region's EC2 backend with its catalogue of public AMIs on the first EC2 call:
# 150 ms per region and test, for images no test asks about (the AMI checks go through SSM).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def _one_service_model_loader() -> None:
    """botocore gives each session a loader of its own, which parses the service models again:
    0.45 s for the ten clients of a preflight, in every moto test. The models are files of the
    installed botocore, so the test process shares one loader per data path (its cache). boto3
    appends its own data path to a session's loader for each session: the shared loader keeps
    one copy. Measured on the moto modules: 20.0 s -> 13.7 s."""
    import botocore.session

    create_loader = botocore.session.create_loader

    @functools.cache
    def shared_loader(search_path_string: str | None = None):
        loader = create_loader(search_path_string)
        loader._search_paths = _AppendsOnce(loader.search_paths)
        return loader

    botocore.session.create_loader = shared_loader


class _AppendsOnce(list):
    def append(self, item: Any) -> None:
        if item not in self:
            super().append(item)


_one_service_model_loader()

from stacks.stack_file import project_name, stack_config  # noqa: E402
from synth.mock_runtime import ProgramRun, run_program  # noqa: E402

#: The project's config namespace, as Pulumi.yaml names it.
PROJECT = project_name()

STACKS = ("staging", "prod")
#: Fixtures that run the whole program; a test using one is a `program` test.
PROGRAM_FIXTURES = {"run", "prod", "staging", "first_preview", "enabled", "with_load_test"}
#: Calls that run the program (or the policy pack, synth, preflight) inside a test's body.
PROGRAM_CALLS = re.compile(
    r"\b(run_program|run_callable|program_run|policy_resources|analyze)\(|tools/(synth|preflight)\.py"
)
#: What makes a test an integration test: another process (a tool from Debian or the Go build,
#: git, node), a local server (HTTP stubs, moto's AWS) in this process.
INTEGRATION_CALLS = re.compile(
    r"\b(subprocess|Popen|run_tool|run_shell|promtool|amtool|k6_\w+|check_output|serve_forever|mock_aws)\b|HTTPServer"
)


def pytest_collection_modifyitems(items):
    """Every test gets one tier, from its own source and its fixtures': real_server where its
    module starts servers (marked there), program where it runs the program, integration where
    it starts another process, a local server or moto, unit otherwise: `make test-fast` is pure
    Python in one process.

    Under xdist (`make test`, `--dist loadfile`), each module's tests stay on one worker, so a
    module's servers and the cluster tier's control plane start once."""
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        if "real_server" in marks:
            continue
        if "program" in marks or "integration" in marks:
            continue
        sources = [inspect.getsource(item.function), *_fixture_sources(item)]
        if PROGRAM_FIXTURES & set(getattr(item, "fixturenames", ())) or any(PROGRAM_CALLS.search(s) for s in sources):
            item.add_marker(pytest.mark.program)
        elif any(INTEGRATION_CALLS.search(s) for s in sources):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


def _fixture_sources(item) -> list[str]:
    """The source of the repository's own fixtures the test uses (pytest's are not read)."""
    sources: list[str] = []
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return sources
    for definitions in info.name2fixturedefs.values():
        function = definitions[-1].func
        module = getattr(function, "__module__", "") or ""
        if module.startswith("tests"):
            try:
                sources.append(inspect.getsource(function))
            except (OSError, TypeError):
                continue
    return sources


def examples(thorough: int) -> int:
    """A property test's example count: `thorough` in `make test` and CI, a sample in test-fast."""
    return thorough if PROFILE == "thorough" else min(thorough, settings.get_profile(PROFILE).max_examples)


_runs: dict[tuple[str, bool], ProgramRun] = {}


def program_run(stack: str, preview: bool = False) -> ProgramRun:
    """One whole-program run per stack and mode per session (runs are deterministic). Tests
    read it; one that changes a run changes a copy (copy.deepcopy)."""
    if (stack, preview) not in _runs:
        _runs[stack, preview] = run_program(stack, preview=preview)
    return _runs[stack, preview]


@pytest.fixture(params=STACKS)
def run(request) -> ProgramRun:
    return program_run(request.param)


@pytest.fixture
def prod() -> ProgramRun:
    return program_run("prod")


@pytest.fixture
def staging() -> ProgramRun:
    return program_run("staging")


def stack_file_config(stack: str) -> dict[str, str]:
    return stack_config(stack, ROOT)[0]


def with_section(stack: str, key: str, value: Any) -> dict[str, str]:
    """The stack's config with one key replaced (None removes it)."""
    config = stack_file_config(stack)
    if value is None:
        config.pop(key, None)
    else:
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return config


def section(stack: str, key: str) -> dict[str, Any]:
    return json.loads(stack_file_config(stack)[f"{PROJECT}:{key}"])


def config_problems(config: dict[str, str]) -> list[str]:
    """The ConfigError lines a config map must produce (fails the test if it loads)."""
    from stacks.loader import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(config)
    return caught.value.problems


def section_problems(stack: str, key: str, **overrides) -> list[str]:
    """Problems of `stack`'s config with some keys of one section overridden."""
    value = section(stack, key) | overrides
    return config_problems(with_section(stack, f"{PROJECT}:{key}", value))


def load_config(config: dict[str, str]):
    """Validate a config map exactly as the program does at start-up."""
    from stacks.loader import load_platform_config

    pulumi.runtime.set_all_config(config, [])
    return load_platform_config(PROJECT)


def pytest_collection_finish(session):
    """The suite is a batch like the synth: its program runs leave cyclic garbage (the SDK's
    resources and outputs refer to each other), and the collector's frequent passes over the
    whole heap cost about a third of its time. What every test imports (the SDKs, pulumi_aws,
    moto) is loaded by now: frozen, no pass walks it. Between modules the collector is off;
    `pytest_runtest_teardown` collects after each."""
    gc.freeze()
    gc.disable()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a module's last test and its fixtures' teardown: its garbage is collected, so an
    error a finalizer raises fails next to its module (filterwarnings makes it an error), and
    what survives (cached runs, imports) is frozen, so the next passes walk only what is new."""
    yield
    if nextitem is None or nextitem.module is not item.module:
        gc.collect()
        gc.freeze()
