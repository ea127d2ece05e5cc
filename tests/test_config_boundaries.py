"""Errors at every boundary: whatever a stack file holds, the answer is a clean run or config
errors, one line per problem naming its key; never a traceback from deep in the program.

Three layers: the stack file as text (YAML that does not parse, documents of the wrong shape),
every section with arbitrary values at arbitrary keys (non-ASCII digits, control characters,
numbers as strings, wrong types), and configs that pass validation, run as a whole program.
"""

from __future__ import annotations

import json
import shutil
import typing
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from stacks.loader import ConfigError
from stacks.schema import PlatformConfig
from stacks.stack_file import load_stack
from synth.mock_runtime import run_program
from tests.conftest import PROJECT, ROOT, examples, load_config, stack_file_config

#: Section keys of the project namespace (`aws:region` is the provider's).
SECTIONS = sorted(str(f.alias) for f in PlatformConfig.model_fields.values() if f.alias != "region")

#: Digits of other scripts (Arabic-Indic, Devanagari, fullwidth): `\d` and `int()` take them.
FOREIGN_DIGITS = st.text(
    alphabet="\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",
    min_size=1,
    max_size=4,
)
hostile_strings = st.one_of(
    st.text(max_size=24),
    FOREIGN_DIGITS,
    FOREIGN_DIGITS.map(lambda d: d + "m"),
    FOREIGN_DIGITS.map(lambda d: d + "Gi"),
    st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=3).map(lambda c: f"a{c}b"),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["", " ", "latest", "repo/x:latest", "NaN", "inf", "1e309", "0x10", "10.0.0.0/8", "true"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def key_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a settings model, nested sections included (lists at index 0)."""
    paths = []
    for name, field in model.model_fields.items():
        path = (*prefix, str(field.alias or name))
        paths.append(path)
        nested, is_list = _nested_model(field)
        if nested is not None:
            paths += key_paths(nested, (*path, "0") if is_list else path)
    return paths


def _nested_model(field: FieldInfo) -> tuple[type[BaseModel] | None, bool]:
    annotation = field.annotation
    is_list = typing.get_origin(annotation) is list
    for hint in [annotation, *typing.get_args(annotation)]:
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            return hint, is_list
    return None, False


def section_model(alias: str) -> type[BaseModel] | None:
    """The section's settings model; None for a scalar key (environment, protectStatefulResources)."""
    field = next(f for f in PlatformConfig.model_fields.values() if f.alias == alias)
    return _nested_model(field)[0]


def set_path(document: Any, path: tuple[str, ...], value: Any) -> Any:
    """`document` with `value` at `path`, creating mappings on the way (a list takes index 0)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == "0" and isinstance(document, list) and document:
        return [set_path(document[0], rest, value), *document[1:]]
    base = dict(document) if isinstance(document, dict) else {}
    base[head] = set_path(base.get(head), rest, value)
    return base


def committed(stack: str, alias: str) -> Any:
    raw = stack_file_config(stack).get(f"{PROJECT}:{alias}")
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def assert_config_errors_only(config: dict[str, str]) -> None:
    """The config loads, or fails with ConfigError lines that each name a key."""
    try:
        load_config(config)
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.startswith((f"{PROJECT}:", "aws:")), problem
            assert "\n" not in problem and "Traceback" not in problem, problem


@st.composite
def mutated_configs(draw) -> dict[str, str]:
    """A committed stack with one section replaced, or some of its keys set, arbitrarily."""
    stack = draw(st.sampled_from(["prod", "staging"]))
    alias = draw(st.sampled_from(SECTIONS))
    config = stack_file_config(stack)
    if draw(st.integers(0, 9)) == 0:
        value = draw(json_values)
    else:
        value = committed(stack, alias)
        model = section_model(alias)
        paths = key_paths(model) if model is not None else [()]
        for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
            value = set_path(value, path, draw(json_values))
    config[f"{PROJECT}:{alias}"] = value if isinstance(value, str) else json.dumps(value)
    return config


@settings(max_examples=examples(200))
@given(mutated_configs())
def test_arbitrary_values_in_any_section_are_config_errors(config):
    assert_config_errors_only(config)


@pytest.mark.parametrize(
    ("alias", "path", "value", "expected"),
    [
        (
            "workloads",
            ("odoo", "resources", "cpuRequest"),
            "\u0665\u0660\u0660m",
            "odoo.resources.cpuRequest = '\u0665\u0660\u0660m'",
        ),
        (
            "workloads",
            ("odoo", "hpa", "maxReplicas"),
            "\u0662\u0660",
            "workloads.odoo.hpa.maxReplicas = '\u0662\u0660'",
        ),
        ("workloads", ("gateway", "resources", "cpuRequest"), "64", "gateway.resources: cpuLimit"),
        ("pgbouncer", ("image",), "ghcr.io/cloudnative-pg/pgbouncer:latest", "pgbouncer.image = "),
        ("cdn", ("contentSecurityPolicy",), "default-src 'self'\r\nX-Evil: 1", "cdn.contentSecurityPolicy = "),
        ("workloads", ("gateway", "hpa", "minReplicas"), 99, "minReplicas (99) must be <= maxReplicas"),
    ],
)
def test_each_boundary_names_its_key(alias, path, value, expected):
    config = stack_file_config("prod")
    config[f"{PROJECT}:{alias}"] = json.dumps(set_path(committed("prod", alias), path, value))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


stack_documents = st.one_of(
    st.text(max_size=200),
    json_values.map(lambda v: yaml.safe_dump(v)),
    st.dictionaries(st.sampled_from(["config", "encryptionsalt", "x"]), json_values, max_size=3).map(yaml.safe_dump),
    st.sampled_from(
        [
            "config: [1, 2]",
            "config: {a: [",
            "\tconfig:\n  - x",
            "%YAML 9.9\n---\n",
            "config:\n  x: !!python/object:os.system {}",
        ]
    ),
)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    return directory


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stack_documents)
def test_any_stack_file_is_read_or_refused_in_config_error_lines(project_dir, document):
    (project_dir / "Pulumi.fuzz.yaml").write_text(document)
    try:
        load_stack("fuzz", project_dir)
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)


def test_a_stack_file_that_does_not_parse_names_the_file_and_line(project_dir):
    (project_dir / "Pulumi.broken.yaml").write_text("config:\n  smartdairy-platform:network: {cidr: [\n")
    with pytest.raises(ConfigError) as caught:
        load_stack("broken", project_dir)
    [problem] = caught.value.problems
    assert problem.startswith("Pulumi.broken.yaml: not valid YAML (line 3, column 1)")


#: In-range values of each field type, so that most drawn configs pass validation and reach
#: the components: they must then build, or fail with config errors, never a bare ValueError.
def _in_range(field: FieldInfo) -> st.SearchStrategy:
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    bounds = {type(m).__name__: m for m in field.metadata}
    low = getattr(bounds.get("Ge"), "ge", 0)
    high = getattr(bounds.get("Le"), "le", low + 100)
    if annotation is int:
        return st.integers(low, high)
    if annotation is bool:
        return st.booleans()
    return st.nothing()


def _in_range_paths() -> list[tuple[str, tuple[str, ...], FieldInfo]]:
    found = []
    for alias in SECTIONS:
        model = section_model(alias)
        if model is None:
            continue
        for path in key_paths(model):
            field = _field_at(model, path)
            if field is not None and not _in_range(field).is_empty:
                found.append((alias, path, field))
    return found


def _field_at(model: type[BaseModel], path: tuple[str, ...]) -> FieldInfo | None:
    field = None
    for part in path:
        if part == "0":
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        nested, _ = _nested_model(field)
        model = nested or model
    return field


IN_RANGE = _in_range_paths()


@settings(max_examples=8, deadline=None)
@given(st.data())
def test_configs_that_validate_build_the_program_or_name_a_key(data):
    config = stack_file_config("staging")
    for alias, path, field in data.draw(st.lists(st.sampled_from(IN_RANGE), min_size=1, max_size=4)):
        current = config.get(f"{PROJECT}:{alias}")
        value = set_path(json.loads(current) if current else None, path, data.draw(_in_range(field)))
        config[f"{PROJECT}:{alias}"] = json.dumps(value)
    try:
        load_config(config)
    except ConfigError:
        assume(False)
    try:
        run_program("staging", config=config)
    except ConfigError as exc:
        assert exc.problems and all(p.startswith((f"{PROJECT}:", "aws:")) for p in exc.problems)


def test_in_range_sampling_covers_the_sections():
    assert {alias for alias, _, _ in IN_RANGE} >= {"network", "database", "cache", "cluster", "pgbouncer", "workloads"}
