"""Secrets Manager rotation of the data tier's credentials: the four steps Secrets Manager calls
(createSecret, setSecret, testSecret, finishSecret). The steps that move versions are the same
for every secret; setting and testing a password is the engine's (the secret's `engine`):

- `postgres` (rotation/postgres.py): the master changes its own password (`scheme: single`), or
  an application role's pair alternates (`scheme: alternating`), with SCRAM verifiers.
- `redis` (rotation/elasticache.py): an ElastiCache RBAC user holds its new password beside the
  current one (ElastiCache keeps two), so clients that read the previous one keep working.

Secrets Manager's version stages are the protocol: createSecret stages AWSPENDING, setSecret and
testSecret act on it, finishSecret moves AWSCURRENT to it (the old one becomes AWSPREVIOUS).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3

from . import elasticache, postgres
from .stages import CURRENT, PENDING, RotationError, value

log = logging.getLogger()
log.setLevel(logging.INFO)

#: Alphanumeric: no quoting in libpq passfiles, URLs, ini files or ElastiCache passwords ever needed.
PASSWORD_LENGTH = 40
ENGINES = {"postgres": postgres, "redis": elasticache}


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    """Secrets Manager's entry point: `SecretId`, `ClientRequestToken` and `Step`."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = client or boto3.client("secretsmanager", endpoint_url=os.environ.get("SECRETS_MANAGER_ENDPOINT"))
    if _check_version(client, arn, token) == CURRENT:
        log.info("%s: version %s is already current", arn, token)
        return
    steps = {"createSecret": create, "setSecret": set_password, "testSecret": test, "finishSecret": finish}
    if step not in steps:
        raise RotationError(f"unknown step {step}")
    log.info("%s: %s for version %s", arn, step, token)
    steps[step](client, arn, token)


def _check_version(client: Any, arn: str, token: str) -> str:
    """The version's stage (AWSPENDING or AWSCURRENT), or why the rotation cannot go on."""
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"{arn}: rotation is not enabled")
    stages = metadata["VersionIdsToStages"].get(token)
    if stages is None:
        raise RotationError(f"{arn}: no version {token}")
    if CURRENT in stages:
        return CURRENT
    if PENDING not in stages:
        raise RotationError(f"{arn}: version {token} is not pending")
    return PENDING


def create(client: Any, arn: str, token: str) -> None:
    """The pending version: a password Secrets Manager generates, and what the engine derives."""
    try:
        value(client, arn, PENDING, token)
        return  # a retried step: the pending version exists
    except client.exceptions.ResourceNotFoundException:
        pass
    current = value(client, arn, CURRENT)
    password = client.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True)
    pending = ENGINES[current["engine"]].pending(current, password["RandomPassword"])
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=[PENDING]
    )


def set_password(client: Any, arn: str, token: str) -> None:
    """Give the pending password to the engine (a no-op when it already works)."""
    pending = value(client, arn, PENDING, token)
    engine = ENGINES[pending["engine"]]
    if not engine.can_log_in(pending):
        engine.set_password(client, arn, pending)


def test(client: Any, arn: str, token: str) -> None:
    """The pending credential logs in."""
    pending = value(client, arn, PENDING, token)
    if not ENGINES[pending["engine"]].can_log_in(pending, wait=True):
        raise RotationError(f"{arn}: the pending credential of {pending['username']} does not log in")


def finish(client: Any, arn: str, token: str) -> None:
    """Make the pending version current (the current one becomes AWSPREVIOUS)."""
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(version for version, stages in versions.items() if CURRENT in stages)
    if current == token:
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )
