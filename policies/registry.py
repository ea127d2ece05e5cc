"""How the pack's rules are written: a rule is a pure function from a resource's properties (or
the whole stack) to violation messages, plus metadata. `policies()` turns the rules into
pulumi_policy objects; tests call the functions directly on plain dicts.

Modules of this pack import each other by bare name: the engine runs the pack directory with
`runpy.run_path`, which puts the directory itself on sys.path.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

SECURITY, RECOMMENDATION = "security", "recommendation"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    kind: str  # security | recommendation
    severity: str
    control: str | None  # AWS Foundational Security Best Practices control id
    types: tuple[str, ...]  # resource types; empty for stack rules
    check: Callable[..., Iterable]

    @property
    def full_description(self) -> str:
        return f"[FSBP {self.control}] {self.description}" if self.control else self.description


RULES: list[Rule] = []
#: The modules that register rules when imported: the pack, the docs and the tests load them all.
RULE_MODULES = (
    "aws_compute",
    "aws_data",
    "aws_edge",
    "aws_observability",
    "aws_search",
    "capacity_rules",
    "cost_rules",
    "kubernetes_workloads",
    "stack",
)


def load_rules() -> list[Rule]:
    """Every rule of the pack (imports RULE_MODULES once; they register on import)."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    return RULES


def resource_rule(
    name: str,
    types: Iterable[str],
    *,
    control: str | None = None,
    kind: str = SECURITY,
    severity: str = "high",
    per_stack: bool = False,
):
    """check(props, config) -> messages; its docstring's first paragraph is the rule's
    description. `per_stack`: a stack turns the rule off with `required: false` in its pack
    config (prod demands what staging may skip)."""

    def register(check):
        RULES.append(Rule(name, _described(check), kind, severity, control, tuple(types), _gated(check, per_stack)))
        return check

    return register


def required_flag(
    name: str, types: Iterable[str], description: str, path: str, *, message: str | None = None, **options: Any
) -> None:
    """A rule that the property at `path` (dotted into nested objects) is set: the many FSBP
    controls that are one flag, written as one line each instead of a function each."""

    def check(props, config):
        value: Any = props
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if not value:
            yield message or f"{path} must be true"

    check.__doc__ = description
    resource_rule(name, types, **options)(check)


def _described(check: Callable) -> str:
    """A rule's description: the first paragraph of its check's docstring, on one line."""
    doc = inspect.getdoc(check)
    if not doc:
        raise ValueError(f"{check.__name__}: a rule's check says what it demands in its docstring")
    return " ".join(doc.split("\n\n")[0].split())


def stack_rule(
    name: str,
    *,
    control: str | None = None,
    kind: str = SECURITY,
    severity: str = "high",
    per_stack: bool = False,
):
    """check(resources, config) -> (urn, message) pairs. `per_stack` as for resource_rule."""

    def register(check):
        RULES.append(Rule(name, _described(check), kind, severity, control, (), _gated(check, per_stack)))
        return check

    return register


def _gated(check, per_stack: bool):
    if not per_stack:
        return check

    def gated(subject, config):
        return check(subject, config) if config.get("required", True) else ()

    return gated


def policies() -> list:
    built: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for rule in RULES:
        level = EnforcementLevel.MANDATORY if rule.kind == SECURITY else EnforcementLevel.ADVISORY
        common: dict[str, Any] = dict(
            name=rule.name,
            description=rule.full_description,
            enforcement_level=level,
            severity=Severity(rule.severity),
        )
        if rule.types:
            built.append(ResourceValidationPolicy(validate=_resource_validator(rule), **common))
        else:
            built.append(StackValidationPolicy(validate=_stack_validator(rule), **common))
    return built


def _resource_validator(rule: Rule):
    def validate(args, report_violation: ReportViolation):
        if args.resource_type in rule.types:
            for message in rule.check(args.props, args.get_config()):
                report_violation(message, None)

    return validate


def _stack_validator(rule: Rule):
    def validate(args, report_violation: ReportViolation):
        for urn, message in rule.check(args.resources, args.get_config()):
            report_violation(message, urn)

    return validate


# --- helpers shared by the rule modules ---------------------------------------------------------


def as_list(value: Any) -> list:
    """A list from a list, one value, or None. Duck-typed: in the pack, properties arrive as the
    SDK's read-only proxies, which are not `list` or `dict` instances."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or hasattr(value, "keys") or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def strings_in(value: Any) -> Iterable[str]:
    """Every string anywhere in a property value (proxies included), keys and values."""
    if isinstance(value, str):
        yield value
    elif hasattr(value, "keys"):
        for key in value.keys():  # noqa: SIM118 -- the pack's property proxies are not dicts
            yield str(key)
            yield from strings_in(value[key])
    elif isinstance(value, bytes) or not hasattr(value, "__iter__"):
        return
    else:
        for item in value:
            yield from strings_in(item)


def json_document(value: Any) -> Mapping:
    """IAM and resource policies arrive as JSON strings (or, from some SDKs, as objects)."""
    if isinstance(value, str):
        return json.loads(value) if value.strip().startswith("{") else {}
    return value or {}


def of_type(resources: Iterable, *types: str) -> list:
    return [r for r in resources if r.resource_type in types]
