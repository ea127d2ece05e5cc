"""Reading the rendered inventory: where a resource belongs, and values that may be strings
on the wire (the mock runtime keeps inputs as the engine would send them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The component holding resources that no smartdairy component parents.
STACK = "(stack)"


def outer_component(resource: Mapping, index: Mapping[str, Mapping]) -> str:
    """The outermost smartdairy component holding the resource (STACK if none)."""
    outer, parent = STACK, resource.get("parent", "")
    while parent in index:
        if index[parent]["type"].startswith("smartdairy:"):
            outer = f"{index[parent]['type']} {index[parent]['name']}"
        parent = index[parent].get("parent", "")
    return outer


def at(value: Any, *path: str | int) -> Any:
    """value[path...] or None where the path ends early."""
    for part in path:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def number(value: Any, default: float = 0.0) -> float:
    """A count or size that may arrive as "80Gi", "400", 3 or None."""
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*(Gi|G)?\s*", str(value))
    return float(match.group(1)) if match else default
