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

from components.apps.pgbouncer_config import ROLE_MODES, ClientDemand, PoolRole

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
    converted: list[Any] = [args_from(item, target) for item in sections]
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


# --- translations that are not field-by-field ----------------------------------------------------


def pool_roles(pgbouncer: Any) -> list[PoolRole]:
    """The three PgBouncer roles from their pool sections (`pgbouncer.rw`, `.ro`, `.session`)."""
    return [
        args_from(getattr(pgbouncer, name), PoolRole, name=name, pool_mode=mode, targets_replicas=replicas)
        for name, (mode, replicas) in ROLE_MODES.items()
    ]


def client_demand(workloads: Any) -> ClientDemand:
    """Client connections the apps can open at their HPA maxima (the `workloads` section)."""
    return ClientDemand(
        odoo_max_pods=workloads.odoo.hpa.max_replicas,
        odoo_workers_per_pod=workloads.odoo.workers,
        odoo_db_maxconn=workloads.odoo.db_maxconn,
        longpolling_max_pods=workloads.odoo.longpolling_replicas,
        gateway_max_pods=workloads.gateway.hpa.max_replicas,
        gateway_pool_size=workloads.gateway.db_pool_size,
    )
