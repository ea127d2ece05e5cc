"""Stack files as the engine reads them, without the engine: `Pulumi.yaml` and
`Pulumi.<stack>.yaml` turned into the flat config map a program gets, and that map validated as
the program validates it. The one stack-file loader of the offline tools (synth, preflight,
capacity, verify, the policy gate) and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .loader import load_platform_config
from .schema import PlatformConfig

ROOT = Path(__file__).resolve().parent.parent


def project_name(project_dir: Path = ROOT) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def stack_config(stack: str, project_dir: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to the program: Pulumi.yaml project values and defaults,
    overlaid by Pulumi.<stack>.yaml; structured values JSON-encoded, keys namespaced.

    `secure:` values cannot be decrypted offline; they become a placeholder marked secret.
    """
    project_file = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    project = project_file["name"]
    config: dict[str, str] = {}
    secret_keys: list[str] = []

    def put(key: str, value: Any) -> None:
        key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = "offline-placeholder-secret"
            secret_keys.append(key)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)

    for key, spec in (project_file.get("config") or {}).items():
        if isinstance(spec, dict) and ("value" in spec or "default" in spec):
            put(key, spec.get("value", spec.get("default")))
        elif not isinstance(spec, dict):
            put(key, spec)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name} in {project_dir}")
    for key, value in ((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}).items():
        put(key, value)
    return config, secret_keys


def load_stack(stack: str, project_dir: Path = ROOT) -> tuple[PlatformConfig, str]:
    """The stack's config, validated exactly as the program does at start-up."""
    config, secret_keys = stack_config(stack, project_dir)
    pulumi.runtime.set_all_config(config, secret_keys)
    project = project_name(project_dir)
    return load_platform_config(project), project
