"""The provider modules a program names, loaded before the synth forks its second run.

pulumi_aws and pulumi_kubernetes load each submodule lazily, on the first attribute a program
reads from it (`aws.ec2.Vpc`): in a prod run that is about 1,000 modules and 1.3 s. The synth
runs its two modes in two processes; loaded before the fork, they are loaded once for both.

Which ones: every attribute chain the program's code reads from a name bound by
`import pulumi_<provider> as <name>`, found by reading the source, without running it. A chain
this misses (a name built at run time) is loaded by the run itself, as before: slower, never
different.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable
from pathlib import Path

#: Where the program's code lives, relative to the project.
PROGRAM_CODE = ("__main__.py", "components", "stacks")


def provider_chains(source: str) -> set[tuple[str, ...]]:
    """("pulumi_aws", "ec2", "Vpc") for each `aws.ec2.Vpc` the source reads."""
    if "import pulumi_" not in source:
        return set()
    tree = ast.parse(source)
    aliases = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("pulumi_")
    }
    chains = set()
    for node in ast.walk(tree):
        chain = _names(node)
        if chain and chain[0] in aliases:
            chains.add((aliases[chain[0]], *chain[1:]))
    return chains


def _names(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return (node.id, *reversed(parts)) if isinstance(node, ast.Name) and parts else ()


def program_files(project_dir: Path) -> list[Path]:
    files: list[Path] = []
    for entry in PROGRAM_CODE:
        path = project_dir / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def preload(files: Iterable[Path]) -> int:
    """Reads every provider attribute chain the files name; returns how many chains resolved.
    A file it cannot read or parse, or a chain that fails, is skipped: the program meets the
    same error itself, in its own run, if it imports that file or reads that name."""
    chains: set[tuple[str, ...]] = set()
    for path in files:
        try:
            chains |= provider_chains(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
    return sum(_resolves(chain) for chain in sorted(chains))


def _resolves(chain: tuple[str, ...]) -> bool:
    package, *attributes = chain
    try:
        value: object = importlib.import_module(package)
        for attribute in attributes:
            value = getattr(value, attribute)
    except Exception:  # loading ahead must never fail a synth that the run would not
        return False
    return True
