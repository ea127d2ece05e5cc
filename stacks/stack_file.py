"""Stack files as the engine reads them, without the engine: `Pulumi.yaml` and
`Pulumi.<stack>.yaml` turned into the flat config map a program gets, and that map validated as
the program validates it. The one stack-file loader of the offline tools (synth, preflight,
capacity, verify, the policy gate) and the tests."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .loader import ConfigError, load_platform_config
from .schema import PlatformConfig

ROOT = Path(__file__).resolve().parent.parent


def project_name(project_dir: Path = ROOT) -> str:
    return _project_file(project_dir)["name"]


def _mapping(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping; anything else is one ConfigError line naming it."""
    if not path.exists():
        raise ConfigError([f"{path.name}: no such file in {path.parent}"])
    try:
        document = copy.deepcopy(_parsed(path.read_text()))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path.name}: not valid YAML{where}: {problem}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path.name}: not UTF-8 text"]) from None
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise ConfigError([f"{path.name}: must be a mapping of keys, got {type(document).__name__}"])
    config = document.get("config")
    if config is not None and not isinstance(config, dict):
        raise ConfigError([f"{path.name}: config must be a mapping of keys, got {type(config).__name__}"])
    return document


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    """Each text parsed once: the tools and the tests read the same two stack files hundreds of
    times, and PyYAML's parser takes 12 ms for the pair. Callers get a deep copy of the result."""
    return yaml.safe_load(text)


def _project_file(project_dir: Path) -> dict[str, Any]:
    project_file = _mapping(project_dir / "Pulumi.yaml")
    if not isinstance(project_file.get("name"), str):
        raise ConfigError(["Pulumi.yaml: name: the project's name is missing"])
    return project_file


def stack_config(stack: str, project_dir: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to the program: Pulumi.yaml project values and defaults,
    overlaid by Pulumi.<stack>.yaml; structured values JSON-encoded, keys namespaced.

    `secure:` values cannot be decrypted offline; they become a placeholder marked secret.
    """
    project_file = _project_file(project_dir)
    project = project_file["name"]
    config: dict[str, str] = {}
    secret_keys: list[str] = []

    def put(key: str, value: Any) -> None:
        key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = "offline-placeholder-secret"
            secret_keys.append(key)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value, default=str)

    for key, spec in (project_file.get("config") or {}).items():
        if isinstance(spec, dict) and ("value" in spec or "default" in spec):
            put(key, spec.get("value", spec.get("default")))
        elif not isinstance(spec, dict):
            put(key, spec)
    for key, value in (_mapping(project_dir / f"Pulumi.{stack}.yaml").get("config") or {}).items():
        put(str(key), value)
    return config, secret_keys


def load_stack(stack: str, project_dir: Path = ROOT) -> tuple[PlatformConfig, str]:
    """The stack's config, validated exactly as the program does at start-up."""
    config, secret_keys = stack_config(stack, project_dir)
    pulumi.runtime.set_all_config(config, secret_keys)
    project = project_name(project_dir)
    return load_platform_config(project), project
