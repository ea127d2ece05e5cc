"""Reads `Pulumi.<stack>.yaml` config into `PlatformConfig`, failing with one readable report.

Pulumi hands a program its config as a flat map of `namespace:key` strings (structured values
arrive JSON-encoded). We read that map directly rather than one `pulumi.Config.get` per key so
that keys nobody reads, i.e. typos, are reported instead of ignored.
"""

from __future__ import annotations

import ipaddress
import json
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from .schema import PlatformConfig
from .schema.environment import protection_problems

M = TypeVar("M", bound=BaseModel)
#: Config fields that live outside the project namespace.
EXTERNAL_KEYS = {"region": "aws:region"}
#: Values that only appear in documentation: RFC 5737 / RFC 3849 ranges, AWS's example accounts.
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(cidr) for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
EXAMPLE_ACCOUNTS = re.compile(r"\b(123456789012|111122223333|444455556666|777788889999)\b")
#: RFC 2606 reserved names: alarm mail to them goes nowhere.
EXAMPLE_DOMAINS = re.compile(r"[@.]example\.(com|net|org)$|\.example$", re.IGNORECASE)


class ConfigError(pulumi.RunError):
    """Invalid stack config. A `RunError` so the Pulumi CLI prints the message, no traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack config:\n" + "\n".join(f"  - {p}" for p in problems))

    def __reduce__(self):
        """Pickles as its problems (the synth's preview run sends it from a child process)."""
        return (type(self), (self.problems,))


def load_platform_config(project: str | None = None) -> PlatformConfig:
    project = project or pulumi.get_project()
    config, raw, problems = _validated(PlatformConfig, project)
    if config is None:
        raise ConfigError(problems)
    if not config.example:
        problems += [config_key(project, section) + rest for section, rest in _placeholders(raw)]
    problems += [f"{project}:{key}{why}" for key, why in protection_problems(config.environment, config)]
    if problems:
        raise ConfigError(problems)
    return config


def load_config(model: type[M], project: str | None = None) -> M:
    """Any program's config (the bootstrap's too) by the same rules: unknown keys and invalid
    values are ConfigError lines naming the key."""
    config, _, problems = _validated(model, project or pulumi.get_project())
    if config is None or problems:
        raise ConfigError(problems)
    return config


def _validated(model: type[M], project: str) -> tuple[M | None, dict[str, Any], list[str]]:
    raw, problems = _collect(model, project)
    try:
        return model.model_validate(raw), raw, problems
    except ValidationError as exc:
        return None, raw, problems + [_describe(model, err, project) for err in exc.errors()]


def _placeholders(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(section, `.key = value: why`) for every documentation placeholder in the raw config."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, f"{path}[{index}]")
    elif isinstance(value, str):
        why = _placeholder_reason(value)
        if why:
            section, dot, rest = path.partition(".")
            yield section, f"{dot}{rest} = {value!r}: {why}; set the real value or mark the stack `example: true`"


def _placeholder_reason(value: str) -> str | None:
    if EXAMPLE_ACCOUNTS.search(value):
        return "an AWS documentation account id"
    if EXAMPLE_DOMAINS.search(value):
        return "a reserved example domain (RFC 2606)"
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if any(network.version == r.version and network.subnet_of(r) for r in DOCUMENTATION_RANGES):  # type: ignore[arg-type]
        return "a documentation address range (RFC 5737/3849)"
    return None


def config_key(project: str, field_alias: str) -> str:
    return EXTERNAL_KEYS.get(field_alias, f"{project}:{printable(field_alias)}")


def printable(key: str) -> str:
    """A key as it can stand in a one-line report: quoted and escaped if it holds anything a
    terminal would not print as is (a newline would split the line, an escape recolour it)."""
    return key if key.isprintable() and key.strip() == key and key else repr(key)


def _collect(model: type[BaseModel], project: str) -> tuple[dict[str, Any], list[str]]:
    known = {
        config_key(project, field.alias or name): field.alias or name for name, field in model.model_fields.items()
    }
    raw: dict[str, Any] = {}
    for key, alias in known.items():
        value = runtime_config.get_config(key)
        if value is not None:
            raw[alias] = _decode(value)
    allowed = ", ".join(sorted(a for k, a in known.items() if k.startswith(f"{project}:")))
    problems = [
        f"{project}:{printable(key.removeprefix(project + ':'))}: unknown key; allowed keys: {allowed}"
        for key in sorted(_configured_keys())
        if key.startswith(f"{project}:") and key not in known
    ]
    return raw, problems


def _configured_keys() -> set[str]:
    """Every config key the engine passed in (explicit map plus the PULUMI_CONFIG environment)."""
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _describe(model: type[BaseModel], err: Mapping[str, Any], project: str) -> str:
    loc = [str(p) for p in err["loc"]]
    if not loc:  # a cross-section rule: its message starts with the key it is about
        return f"{project}:{err['msg'].removeprefix('Value error, ')}"
    key = config_key(project, loc[0])
    path = key + "".join(f"[{p}]" if p.isascii() and p.isdigit() else f".{printable(p)}" for p in loc[1:])
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(model, loc[:-1])) or "none"
        return f"{path}: unknown key; allowed keys: {allowed}"
    if err["type"] == "missing":
        return f"{path}: required key is missing"
    message = err["msg"].removeprefix("Value error, ")
    if isinstance(err.get("input"), dict):  # a whole-section rule: the message names the keys
        return f"{path}: {message}"
    return f"{path} = {_show(err.get('input'))}: {message}"


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    """Aliases of the model found at `loc`, for "did you mean" style messages."""
    for part in loc:
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        nested = _model_in(field.annotation) if field else None
        if nested is None:
            return []
        model = nested
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
