"""House rules from docs/CONVENTIONS.md that code can check."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pulumi
from pydantic import BaseModel

from tests.conftest import ROOT
from tests.harness.checks import nonempty

COMPONENT_FILES = sorted((ROOT / "components").rglob("*.py"))
#: Every component type token ever deployed. A token is in the URN of the component and of all
#: its children: changing one replaces every resource under it in a live stack.
TYPE_TOKENS = ROOT / "tests" / "fixtures" / "component_type_tokens.txt"


def test_components_never_test_the_environment_name():
    for path in nonempty(COMPONENT_FILES):
        text = path.read_text()
        assert not re.search(r"""["'](prod|production|staging|dev)["']""", text), path.name


def test_components_never_create_providers():
    for path in nonempty(COMPONENT_FILES):
        assert not re.search(r"\b(aws|k8s|kubernetes)\.Provider\(", path.read_text()), path.name


def component_classes() -> dict[str, type]:
    classes = {}
    for path in COMPONENT_FILES:
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__:
                classes[f"{module.__name__}.{cls.__name__}"] = cls
    return classes


def test_type_tokens_are_explicit_and_never_change():
    """A moved file keeps its token. A renamed token needs `aliases=[pulumi.Alias(type_=old)]` in
    the component's options, and both tokens in the fixture."""
    recorded = set(TYPE_TOKENS.read_text().split())
    tokens = {name: cls.__dict__.get("TYPE_TOKEN") for name, cls in component_classes().items()}
    assert all(tokens.values()), [name for name, token in tokens.items() if not token]
    assert all(re.fullmatch(r"smartdairy:[a-z_]+:[A-Z]\w+", str(token)) for token in tokens.values())
    assert set(tokens.values()) <= recorded, f"new or changed tokens: {set(tokens.values()) - recorded}"
    for path in COMPONENT_FILES:
        assert 'super().__init__("smartdairy:' not in path.read_text(), f"{path.name}: use TYPE_TOKEN"


def test_component_registrations_end_with_register_outputs(run):
    by_token = {cls.__dict__["TYPE_TOKEN"]: cls for cls in component_classes().values()}
    for component in nonempty(r for r in run.resources if not r.custom and r.type.startswith("smartdairy:")):
        assert "register_outputs(" in inspect.getsource(by_token[component.type]), component.type


def test_readme_generated_blocks_are_current():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "tools/gen_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_nothing_reads_outside_the_repository():
    """Users clone the repo alone: the seed's figures live in tests/fixtures/seed, nothing reads beside it."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("components", "stacks", "policies", "tools", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"ROOT\.parent|\.\./shared|parent\s*/\s*\"shared\"", path.read_text())
    ]
    assert offenders == []


def config_models() -> set[type[BaseModel]]:
    """Every settings model a stack or the bootstrap reads, wherever it is declared (the
    schema, or a component's pure module), found from the two roots."""
    from pydantic import BaseModel

    from stacks.schema.delivery import BootstrapConfig
    from stacks.schema.platform import PlatformConfig

    found: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [PlatformConfig, BootstrapConfig]
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        for field in model.model_fields.values():
            for hint in [field.annotation, *typing_args(field.annotation)]:
                if isinstance(hint, type) and issubclass(hint, BaseModel):
                    pending.append(hint)
    return found


def typing_args(hint: Any) -> list:
    import typing

    return [inner for arg in typing.get_args(hint) for inner in (arg, *typing_args(arg))]


def test_every_config_field_has_a_description():
    """Like terraform-aws-eks's lint of documented variables: the config reference is generated
    from these, so an undocumented key is an undocumented knob."""
    models = config_models()
    assert {"HpaSettings", "NodePoolSpec", "Ttls", "AlarmThresholds", "ContainerResources"} <= {
        m.__name__ for m in models
    }
    undocumented = [
        f"{cls.__name__}.{name}" for cls in models for name, field in cls.model_fields.items() if not field.description
    ]
    assert undocumented == []


def documented_fields(path: Path) -> list[tuple[str, bool]]:
    """(Class.field, documented) for the fields of `*Args` classes: each field carries its own
    `#:` comment on the line above it (or above its decorator-free multi-line comment)."""
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef) and node.name.endswith("Args"):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    above = lines[stmt.lineno - 2].strip()
                    found.append((f"{node.name}.{stmt.target.id}", above.startswith("#:")))
    return found


def test_no_args_comment_copies_a_config_description():
    """A field filled from config says what the component does with it; the setting itself is
    described once, on the model the config reference is generated from."""
    descriptions = {f.description for m in config_models() for f in m.model_fields.values() if f.description}
    copied = [name for path in COMPONENT_FILES for name, comment in field_comments(path) if comment in descriptions]
    assert copied == []


def field_comments(path: Path) -> list[tuple[str, str]]:
    """(Class.field, its `#:` comment) for the fields of `*Args` classes."""
    lines = path.read_text().splitlines()
    return [
        (f"{node.name}.{stmt.target.id}", lines[stmt.lineno - 2].strip().removeprefix("#:").strip())
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Args")
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
    ]


def test_every_args_field_has_a_doc_comment():
    undocumented = [name for path in COMPONENT_FILES for name, ok in documented_fields(path) if not ok]
    assert undocumented == []


def test_structure_rules_catch_what_they_name(tmp_path, monkeypatch):
    """The checker finds a long function, a tier import in k8s/ and a tests import in tools/."""
    from tools import check_structure

    (tmp_path / "tools").mkdir()
    (tmp_path / "components" / "k8s").mkdir(parents=True)
    body = "\n".join(f"    x{i} = {i}" for i in range(check_structure.MAX_FUNCTION_LINES))
    (tmp_path / "tools" / "long.py").write_text(f"import tests.harness\n\n\ndef long():\n{body}\n")
    (tmp_path / "components" / "k8s" / "bad.py").write_text("from components.apps.odoo import Odoo\n")
    monkeypatch.setattr(check_structure, "ROOT", tmp_path)
    found = check_structure.offences()
    assert [line.split(":")[0] for line in found] == ["tools/long.py", "components/k8s/bad.py", "tools/long.py"]
    assert "long is 81 lines" in found[0]
