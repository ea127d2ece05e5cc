"""Secrets Manager rotation of the PostgreSQL credentials: the four steps Secrets Manager calls
(createSecret, setSecret, testSecret, finishSecret), for two schemes.

- `single`: the master user changes its own password (AWS's single-user scheme). Only the
  bootstrap Job and administrators use it, and they read it when they start.
- `alternating`: each application role is a pair of login roles (`odoo` and `odoo_clone`, made by
  the bootstrap Job); a rotation sets a new password on the one *not* in use and then makes it
  current (AWS's alternating-users scheme). A pod that read the previous credential keeps working
  until the rotation after next, so no rotation refuses a connection.

Why our own function and not AWS's template: PgBouncer authenticates clients with SCRAM
verifiers it looks up in `pgbouncer.auth_verifiers` (RDS closes `pg_shadow`), and SCRAM
pass-through needs the server's verifier and the lookup's to be byte-identical. So the new
password is set *as a verifier computed here*, written to the role and the lookup in one
transaction; no plain password reaches the server or its statement log.

The secret's JSON: engine, host, port, dbname, username, password (absent before the first
rotation), `scheme`, and for `alternating` the pair (`users`), the master secret (`masterarn`)
and whether PgBouncer looks the users up (`pooled`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from typing import Any

import boto3
import pg8000.native

from .scram import SALT_BYTES, scram_verifier

log = logging.getLogger()
log.setLevel(logging.INFO)

PENDING, CURRENT, PREVIOUS = "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS"
ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Alphanumeric: no quoting in libpq passfiles, URLs or ini files ever needed.
PASSWORD_LENGTH = 40


class RotationError(RuntimeError):
    """A step cannot proceed; Secrets Manager retries the rotation later."""


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    """Secrets Manager's entry point: `SecretId`, `ClientRequestToken` and `Step`."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = client or boto3.client("secretsmanager", endpoint_url=os.environ.get("SECRETS_MANAGER_ENDPOINT"))
    _check_version(client, arn, token)
    steps = {"createSecret": create, "setSecret": set_password, "testSecret": test, "finishSecret": finish}
    if step not in steps:
        raise RotationError(f"unknown step {step}")
    log.info("%s: %s for version %s", arn, step, token)
    steps[step](client, arn, token)


def _check_version(client: Any, arn: str, token: str) -> None:
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"{arn}: rotation is not enabled")
    stages = metadata["VersionIdsToStages"].get(token)
    if stages is None:
        raise RotationError(f"{arn}: no version {token}")
    if PENDING not in stages and CURRENT not in stages:
        raise RotationError(f"{arn}: version {token} is not pending")


def _value(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    kwargs = {"VersionId": token} if token else {}
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage, **kwargs)["SecretString"])


def next_username(secret: dict[str, Any]) -> str:
    """The role a rotation sets: the same one (`single`), or the other of the pair (`alternating`)."""
    if secret["scheme"] == "single":
        return secret["username"]
    first, second = secret["users"]
    return second if secret["username"] == first else first


def create(client: Any, arn: str, token: str) -> None:
    """The pending version: the next role and a password Secrets Manager generates."""
    try:
        _value(client, arn, PENDING, token)
        return  # a retried step: the pending version exists
    except client.exceptions.ResourceNotFoundException:
        pass
    current = _value(client, arn, CURRENT)
    password = client.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True)
    pending = {**current, "username": next_username(current), "password": password["RandomPassword"]}
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=[PENDING]
    )


def set_password(client: Any, arn: str, token: str) -> None:
    """Set the pending password on its role (and PgBouncer's lookup), as an administrator:
    the master for `alternating`, the role itself (its current or previous password) for `single`."""
    pending = _value(client, arn, PENDING, token)
    if _can_log_in(pending):
        return
    username = pending["username"]
    if not ROLE.match(username):
        raise RotationError(f"{arn}: {username!r} is not a plain role name")
    verifier = scram_verifier(pending["password"], os.urandom(SALT_BYTES))
    with _administrator(client, arn, pending) as connection:
        connection.run("BEGIN")
        connection.run(f"ALTER ROLE {username} PASSWORD {pg8000.native.literal(verifier)}")
        if pending.get("pooled"):
            connection.run(
                "INSERT INTO pgbouncer.auth_verifiers VALUES (:username, :verifier) "
                "ON CONFLICT (usename) DO UPDATE SET verifier = EXCLUDED.verifier",
                username=username,
                verifier=verifier,
            )
        connection.run("COMMIT")


def test(client: Any, arn: str, token: str) -> None:
    """The pending credential logs in and runs a query."""
    pending = _value(client, arn, PENDING, token)
    if not _can_log_in(pending):
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


def _tls() -> ssl.SSLContext | bool:
    """`PGSSLMODE` as libpq reads it: verify-full with `PGSSLROOTCERT`, require, or disable."""
    mode = os.environ.get("PGSSLMODE", "verify-full")
    if mode == "disable":
        return False
    if mode == "require":
        return True
    return ssl.create_default_context(cafile=os.environ["PGSSLROOTCERT"])


def _connect(secret: dict[str, Any], username: str | None = None, password: str | None = None):
    return pg8000.native.Connection(
        user=username or secret["username"],
        password=password if password is not None else secret.get("password"),
        host=secret["host"],
        port=int(secret["port"]),
        database=secret["dbname"],
        ssl_context=_tls(),
        timeout=10,
        application_name="credential-rotation",
    )


def _can_log_in(secret: dict[str, Any]) -> bool:
    if not secret.get("password"):
        return False
    try:
        with _connect(secret) as connection:
            connection.run("SELECT 1")
        return True
    except (pg8000.native.DatabaseError, pg8000.native.InterfaceError):
        return False


def _administrator(client: Any, arn: str, pending: dict[str, Any]):
    """A connection allowed to set the pending role's password."""
    if pending["scheme"] == "alternating":
        return _connect(_value(client, pending["masterarn"], CURRENT))
    for stage in (CURRENT, PREVIOUS):
        try:
            secret = _value(client, arn, stage)
        except client.exceptions.ResourceNotFoundException:
            continue
        if _can_log_in(secret):
            return _connect(secret)
    raise RotationError(f"{arn}: neither the current nor the previous password of {pending['username']} logs in")
