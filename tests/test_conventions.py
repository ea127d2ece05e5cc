"""House rules from docs/CONVENTIONS.md that code can check."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

COMPONENT_FILES = sorted((ROOT / "components").glob("*.py"))


def test_components_never_test_the_environment_name():
    for path in COMPONENT_FILES:
        text = path.read_text()
        assert not re.search(r"""["'](prod|production|staging|dev)["']""", text), path.name


def test_components_never_create_providers():
    for path in COMPONENT_FILES:
        assert not re.search(r"\b(aws|k8s|kubernetes)\.Provider\(", path.read_text()), path.name


def test_component_classes_use_the_house_type_token():
    for path in COMPONENT_FILES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            is_super_init = (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
            )
            if is_super_init and node.args and isinstance(node.args[0], ast.Constant):
                token = node.args[0].value
                assert re.fullmatch(rf"smartdairy:{path.stem}:[A-Z]\w+", token), (path.name, token)


def test_component_registrations_end_with_register_outputs(run):
    for component in (r for r in run.resources if not r.custom and r.type.startswith("smartdairy:")):
        module = component.type.split(":")[1]
        assert (ROOT / "components" / f"{module}.py").exists(), component.type
        assert "register_outputs(" in (ROOT / "components" / f"{module}.py").read_text()


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
