"""Config sections become component Args by field name: one source of truth per setting.

A setting is declared once. Where a component's input is only a config block (HPA settings,
container resources, TTLs, NodePools, alarm thresholds, subnet prefixes), that frozen pydantic
model is declared in the component's pure module and the stack schema uses it as is. Where Args
mix config with other components' outputs, the `*Args` dataclass has fields named as the
section's, *without a default*: `args_from` fills them from the section (nested sections pass
through as the models they are) and a field nobody supplies fails loudly instead of falling back
to a value that drifted from the schema's. The stack layer passes only what config cannot know:
outputs of other components (`wired`). `tests/test_wiring.py` checks every section against its Args.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel

from components.apps.pgbouncer_config import ROLE_MODES, ClientDemand, PoolRole

T = TypeVar("T")


def args_from(section: BaseModel, args_type: type[T], **wired: Any) -> T:
    """`args_type` built from the section's same-named fields plus `wired`."""
    values: dict[str, Any] = {}
    missing = []
    for field in dataclasses.fields(args_type):  # type: ignore[arg-type]
        if field.name in wired:
            values[field.name] = wired[field.name]
        elif field.name in type(section).model_fields:
            values[field.name] = getattr(section, field.name)
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
