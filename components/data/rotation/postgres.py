"""PostgreSQL's part of a rotation: the next role of a pair, and its password set *as a SCRAM
verifier computed here*.

Why our own function and not AWS's template: PgBouncer authenticates clients with SCRAM
verifiers it looks up in `pgbouncer.auth_verifiers` (RDS closes `pg_shadow`), and SCRAM
pass-through needs the server's verifier and the lookup's to be byte-identical. So the verifier
goes to the role and the lookup in one transaction, and no plain password reaches the server or
its statement log.

- `single`: the master changes its own password; only the bootstrap Job and administrators use
  it, and they read it when they start.
- `alternating`: each application role is a pair of login roles (`odoo` and `odoo_clone`, made by
  the bootstrap Job); a rotation sets a new password on the one *not* in use, then makes it
  current. A pod that read the previous credential keeps working until the rotation after next.

The secret's JSON: engine, host, port, dbname, username, password (absent before the first
rotation), `scheme`, and for `alternating` the pair (`users`), the master secret (`masterarn`)
and whether PgBouncer looks the users up (`pooled`).
"""

from __future__ import annotations

import os
import re
import ssl
from typing import Any

import pg8000.native

from .scram import SALT_BYTES, scram_verifier
from .secret_values import CLONE_SUFFIX
from .stages import CURRENT, PENDING, PREVIOUS, RotationError, value

ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def pending(current: dict[str, Any], password: str) -> dict[str, Any]:
    """The next role (the same for `single`, the other of the pair for `alternating`)."""
    return {**current, "username": next_username(current), "password": password}


def next_username(secret: dict[str, Any]) -> str:
    if secret["scheme"] == "single":
        return secret["username"]
    first, second = secret["users"]
    return second if secret["username"] == first else first


def _pair_problem(secret: dict[str, Any], master: dict[str, Any]) -> str | None:
    """Why the master must not set this role's password: a secret that names another pair, or
    the master itself (whoever may write a role's secret must not steer the master's hand)."""
    first, second = secret["users"]
    if second != f"{first}{CLONE_SUFFIX}" or secret["username"] not in (first, second):
        return f"{secret['username']!r} is not one of the pair {first!r} and {first}{CLONE_SUFFIX}"
    if master["username"] in (first, second) or master["host"] != secret["host"]:
        return "the secret names the master user, or another server than the master's"
    return None


def set_password(client: Any, arn: str, secret: dict[str, Any]) -> None:
    """As an administrator (the master for `alternating`; the role itself, with its current or
    previous password, for `single`): the verifier on the role, and in PgBouncer's lookup."""
    username = secret["username"]
    if not ROLE.match(username):
        raise RotationError(f"{arn}: {username!r} is not a plain role name")
    verifier = scram_verifier(secret["password"], os.urandom(SALT_BYTES))
    with _administrator(client, arn, secret) as connection:
        connection.run("BEGIN")
        connection.run(f"ALTER ROLE {username} PASSWORD {pg8000.native.literal(verifier)}")
        if secret.get("pooled"):
            connection.run(
                "INSERT INTO pgbouncer.auth_verifiers VALUES (:username, :verifier) "
                "ON CONFLICT (usename) DO UPDATE SET verifier = EXCLUDED.verifier",
                username=username,
                verifier=verifier,
            )
        connection.run("COMMIT")


def can_log_in(secret: dict[str, Any], wait: bool = False) -> bool:
    """The credential logs in and runs a query (PostgreSQL applies a password at once)."""
    if not secret.get("password"):
        return False
    try:
        with _connect(secret) as connection:
            connection.run("SELECT 1")
        return True
    except (pg8000.native.DatabaseError, pg8000.native.InterfaceError):
        return False


def _tls() -> ssl.SSLContext | bool:
    """`PGSSLMODE` as libpq reads it: verify-full with `PGSSLROOTCERT`, require, or disable."""
    mode = os.environ.get("PGSSLMODE", "verify-full")
    if mode == "disable":
        return False
    if mode == "require":
        return True
    return ssl.create_default_context(cafile=os.environ["PGSSLROOTCERT"])


def _connect(secret: dict[str, Any]) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=secret["username"],
        password=secret.get("password"),
        host=secret["host"],
        port=int(secret["port"]),
        database=secret["dbname"],
        ssl_context=_tls(),
        timeout=10,
        application_name="credential-rotation",
    )


def _administrator(client: Any, arn: str, secret: dict[str, Any]) -> pg8000.native.Connection:
    """A connection allowed to set the pending role's password."""
    if secret["scheme"] == "alternating":
        return _as_master(client, arn, secret)
    for stage in (CURRENT, PREVIOUS):
        try:
            known = value(client, arn, stage)
        except client.exceptions.ResourceNotFoundException:
            continue
        if can_log_in(known):
            return _connect(known)
    raise RotationError(f"{arn}: neither the current nor the previous password of {secret['username']} logs in")


def _as_master(client: Any, arn: str, secret: dict[str, Any]) -> pg8000.native.Connection:
    """The master's current credential, or its pending one while the master itself is between
    setSecret and finishSecret (the first `up` starts every rotation at once)."""
    for stage in (CURRENT, PENDING):
        try:
            master = value(client, secret["masterarn"], stage)
        except client.exceptions.ResourceNotFoundException:
            continue
        problem = _pair_problem(secret, master)
        if problem:
            raise RotationError(f"{arn}: {problem}")
        if can_log_in(master):
            return _connect(master)
    raise RotationError(f"{arn}: the master secret's current and pending passwords do not log in")
