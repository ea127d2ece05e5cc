"""Compare two synth outputs (`build/<stack>/resources.json`): what a refactoring changed.

    python tools/compare_synth.py OLD.json NEW.json

Prints resources only in one side (by URN) and, for resources in both, every input path and
option whose value differs. Exit 0 when they are the same, 1 otherwise. A refactoring that must
not change the deployment (a moved file, a renamed helper) shows nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _paths(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _paths(item, f"{prefix}.{key}" if prefix else key)
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out |= _paths(item, f"{prefix}[{index}]")
        return out or {prefix: []}
    return {prefix: value}


def _normalized(resource: dict) -> dict:
    """Dependencies are sets: a diff names the URN gained or lost, not a shifted index."""
    options = dict(resource.get("options", {}))
    options["dependsOn"] = {urn: "edge" for urn in options.get("dependsOn", [])}
    options["propertyDependencies"] = {
        key: {urn: "edge" for urn in urns} for key, urns in options.get("propertyDependencies", {}).items()
    }
    return resource | {"options": options}


def differences(old: list[dict], new: list[dict]) -> list[str]:
    before = {r["urn"]: _normalized(r) for r in old}
    after = {r["urn"]: _normalized(r) for r in new}
    lines = [f"- {urn}" for urn in sorted(before.keys() - after.keys())]
    lines += [f"+ {urn}" for urn in sorted(after.keys() - before.keys())]
    for urn in sorted(before.keys() & after.keys()):
        a, b = _paths(before[urn]), _paths(after[urn])
        changed = [path for path in sorted(a.keys() | b.keys()) if a.get(path) != b.get(path)]
        if changed:
            lines.append(f"~ {urn}")
            lines += [f"    {path}: {a.get(path)!r} -> {b.get(path)!r}" for path in changed]
    return lines


def main(argv: list[str] | None = None) -> int:
    old_path, new_path = argv or sys.argv[1:]
    found = differences(json.loads(Path(old_path).read_text()), json.loads(Path(new_path).read_text()))
    print("\n".join(found) if found else "identical")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
