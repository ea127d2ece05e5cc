"""Environments: what a stack's `environment` may be, and what each one can never turn off.

Enforcement follows the environment a stack declares, never the stack's name: a stack called
`production` with `environment: prod` gets prod's policy set and prod's protection rules. Each
environment has its policy set in `policies/config/<environment>.json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

POLICY_SETS = Path(__file__).resolve().parents[2] / "policies" / "config"
#: The environments a stack may declare. Add one by adding its policy set (tests pin the two equal).
ENVIRONMENTS = ("prod", "staging")
#: What an environment without a policy set of its own gets: the strictest set.
STRICTEST = "prod"
#: Environments whose stateful resources keep every protection, and the settings that give it:
#: config key -> (attribute path in PlatformConfig, the only value allowed).
ALWAYS_PROTECTED = ("prod",)
PROTECTION: dict[str, tuple[tuple[str, ...], Any]] = {
    "protectStatefulResources": (("protect_stateful_resources",), True),
    "database.deletionProtection": (("database", "deletion_protection"), True),
    "database.finalSnapshot": (("database", "final_snapshot"), True),
    "database.deleteAutomatedBackups": (("database", "delete_automated_backups"), False),
    "cache.finalSnapshot": (("cache", "final_snapshot"), True),
}


def policy_set(environment: str) -> Path:
    """The policy set of `environment`; the strictest one for an environment without its own."""
    path = POLICY_SETS / f"{environment}.json"
    return path if environment in ENVIRONMENTS and path.exists() else POLICY_SETS / f"{STRICTEST}.json"


def protection_problems(environment: str, config: Any) -> Iterator[tuple[str, str]]:
    """(key, why) for each protection an always-protected environment tries to turn off."""
    if environment not in ALWAYS_PROTECTED:
        return
    for key, (path, required) in PROTECTION.items():
        value = config
        for part in path:
            value = getattr(value, part)
        if value != required:
            yield (
                key,
                (
                    f" = {value!r}: environment {environment} never turns this protection off "
                    f"(whatever the stack is called); allowed: {required!r}"
                ),
            )
