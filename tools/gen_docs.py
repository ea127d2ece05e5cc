"""Regenerates the generated blocks of README.md (config reference; later, the policy table).

`python tools/gen_docs.py` rewrites them; `--check` exits 1 when README.md is stale (a test runs it).
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stacks.loader import config_key  # noqa: E402
from stacks.schema import PlatformConfig  # noqa: E402

PROJECT = "smartdairy-platform"


def config_reference() -> str:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, field in PlatformConfig.model_fields.items():
        alias = field.alias or name
        rows += _rows(config_key(PROJECT, alias), field)
    return "\n".join(rows)


def _rows(key: str, field: Any) -> list[str]:
    nested = _model(field.annotation)
    if nested is not None:
        rows = [f"| `{key}` | object | {_default(field)} | {_doc(field, nested)} |"]
        for name, sub in nested.model_fields.items():
            rows += _rows(f"{key}.{sub.alias or name}", sub)
        return rows
    return [f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_doc(field, None)} |"]


def _model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        bounds = [f"{k} {getattr(m, k)}" for m in meta for k in ("ge", "le", "gt", "lt") if hasattr(m, k)]
        return _type(base) + (f" ({', '.join(bounds)})" if bounds else "")
    if origin in (list, tuple):
        return f"list of {_type(typing.get_args(annotation)[0])}"
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return " or ".join(_type(a) for a in typing.get_args(annotation) if a is not type(None)) + " (optional)"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{value}`" if value is not None else "none"


def _doc(field: Any, nested: type[BaseModel] | None) -> str:
    text = field.description or (nested.__doc__ if nested else "") or ""
    bounds = [f"{k} {getattr(m, k)}" for m in field.metadata for k in ("ge", "le") if hasattr(m, k)]
    if bounds and not nested:
        text = f"{text} ({', '.join(bounds)})".strip()
    pattern = next((m.pattern for m in field.metadata if getattr(m, "pattern", None)), None)
    if pattern:
        text = f"{text} Pattern `{pattern}`.".strip()
    return " ".join(text.split()).replace("|", "\\|")


def policy_table() -> str:
    sys.path.insert(0, str(ROOT / "policies"))
    from registry import load_rules

    rules = load_rules()

    rows = [
        "| policy | default | severity | FSBP | applies to | rule |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in sorted(rules, key=lambda r: r.name):
        default = "mandatory" if rule.kind == "security" else "advisory"
        scope = ", ".join(f"`{t.split(':')[-1]}`" for t in rule.types) or "stack"
        rows.append(
            f"| `{rule.name}` | {default} | {rule.severity} | {rule.control or ''} | {scope} | {rule.description} |"
        )
    return "\n".join(rows)


BLOCKS = {"config-reference": config_reference, "policy-table": policy_table}


def render(readme: str) -> str:
    for name, make in BLOCKS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, _, rest = readme.partition(start)
        _, _, tail = rest.partition(end)
        readme = f"{head}{start}\n{make()}\n{end}{tail}"
    return readme


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    current = path.read_text()
    updated = render(current)
    if "--check" in argv:
        if updated != current:
            print("README.md is stale: run `python tools/gen_docs.py`", file=sys.stderr)
            return 1
        return 0
    path.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
