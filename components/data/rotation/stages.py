"""Secrets Manager's version stages, and reading a secret at one: what every engine's part of a
rotation shares with the steps."""

from __future__ import annotations

import json
from typing import Any

PENDING, CURRENT, PREVIOUS = "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS"


class RotationError(RuntimeError):
    """A step cannot proceed; Secrets Manager retries the rotation later."""


def value(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The secret's JSON at `stage` (and version `token`)."""
    kwargs = {"VersionId": token} if token else {}
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage, **kwargs)["SecretString"])
