"""The structure rules `make lint` enforces: no product function over 80 lines, the shared
building blocks (components/k8s, components/aws) import no tier package, and nothing outside
tests/ imports the test suite. Prints one line per offence; exit 1 if any.

    python tools/check_structure.py
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Everything but the tests: what the program, the bootstrap and the tools are made of.
PRODUCT = ("components", "stacks", "policies", "tools", "capacity", "bootstrap", "synth", "realserver")
MAX_FUNCTION_LINES = 80
#: What components/k8s and components/aws may import of components/: each other and the leaves.
SHARED = ("k8s", "aws", "outputs", "settings")


def _modules(folders: tuple[str, ...]) -> Iterator[tuple[Path, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT), ast.parse(path.read_text(), str(path))


def _imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""


def long_functions() -> list[str]:
    return [
        f"{path}:{node.lineno}: {node.name} is {length} lines (at most {MAX_FUNCTION_LINES}): split it into named steps"
        for path, tree in _modules(PRODUCT)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]


def tier_imports_in_shared_blocks() -> list[str]:
    return [
        f"{path}: imports {module}: components/k8s and components/aws import no tier package"
        for path, tree in _modules(("components/k8s", "components/aws"))
        for module in _imported(tree)
        if module.startswith("components.") and module.split(".")[1] not in SHARED
    ]


def test_suite_imports() -> list[str]:
    return [
        f"{path}: imports {module}: only tests/ may import the test suite (shared code lives in synth/, realserver/)"
        for path, tree in _modules(PRODUCT)
        for module in _imported(tree)
        if module == "tests" or module.startswith("tests.")
    ]


def offences() -> list[str]:
    return [*long_functions(), *tier_imports_in_shared_blocks(), *test_suite_imports()]


def main() -> int:
    found = offences()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
