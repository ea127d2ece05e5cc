"""Config sections become component Args by field name: one source of truth per setting.

A setting is declared once, in its config section (`stacks/schema/`), where it is validated and
documented. The component's `*Args` dataclass has a field of the same name *without a default*,
so `args_from` fills it from the section, and a field nobody supplies fails loudly instead of
falling back to a value that drifted from the schema's. The stack layer passes only what config
cannot know: outputs of other components (`wired`). Adding a setting touches the section and the
component, nothing else; `tests/test_wiring.py` checks every section against its Args.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def args_from(section: BaseModel, args_type: type[T], **wired: Any) -> T:
    """`args_type` built from the section's same-named fields plus `wired`; a nested section
    becomes the nested dataclass its field is typed with (lists of them too)."""
    values: dict[str, Any] = {}
    missing = []
    for field in dataclasses.fields(args_type):  # type: ignore[arg-type]
        if field.name in wired:
            values[field.name] = wired[field.name]
        elif field.name in type(section).model_fields:
            values[field.name] = _convert(getattr(section, field.name), args_type, field)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            missing.append(field.name)
    unknown = set(wired) - {f.name for f in dataclasses.fields(args_type)}  # type: ignore[arg-type]
    if missing or unknown:
        raise TypeError(
            f"{args_type.__name__} from {type(section).__name__}: "
            + "; ".join(
                ([f"no config field or wiring for {', '.join(missing)}"] if missing else [])
                + ([f"wired fields it does not have: {', '.join(sorted(unknown))}"] if unknown else [])
            )
        )
    return args_type(**values)


def _convert(value: Any, args_type: type, field: dataclasses.Field) -> Any:
    """A nested section (or a list of them) becomes the dataclass the field is typed with."""
    sections = value if isinstance(value, list) else [value]
    if not sections or not all(isinstance(item, BaseModel) for item in sections):
        return value
    # Only these fields' annotations are evaluated: others may name types (pulumi.Input) whose
    # forward references do not resolve outside the SDK.
    hint = eval(field.type, vars(sys.modules[args_type.__module__])) if isinstance(field.type, str) else field.type
    target = _dataclass_in(hint)
    if target is None:
        raise TypeError(f"{args_type.__name__}.{field.name}: a config section needs a dataclass field type")
    converted = [args_from(item, target) for item in sections]
    return converted if isinstance(value, list) else converted[0]


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field is typed with, directly or inside Sequence[...] / X | None."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None
