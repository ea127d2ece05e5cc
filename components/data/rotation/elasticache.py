"""ElastiCache's part of a rotation: an RBAC user keeps its name, and holds the new password
*beside* the current one (ElastiCache users take up to two), so a client that read the previous
password keeps working until the rotation after next. The secret also carries the client's
connection URL, so a pod reads one file.

The first rotation drops the password the user was created with (ElastiCache needs one to
create a password user; the program's dies here), because the program's first value of the
secret holds none. The test step waits for the user to be active again and logs in over TLS
with `AUTH <user> <password>` (stdlib only: no Redis client in the Lambda).

The secret's JSON: engine (`redis`), userid, username, host, port, password and url (absent
before the first rotation).
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from typing import Any
from urllib.parse import quote

import boto3

from .stages import CURRENT, value

#: ElastiCache applies a user's new password to its groups within seconds to a minute.
ACTIVE_WITHIN_S = 90


def elasticache_client() -> Any:
    return boto3.client("elasticache")


def pending(current: dict[str, Any], password: str) -> dict[str, Any]:
    """The same user, a new password and the URL a client connects with."""
    userinfo = f"{quote(current['username'], safe='')}:{quote(password, safe='')}"
    return {**current, "password": password, "url": f"rediss://{userinfo}@{current['host']}:{current['port']}/0"}


def set_password(client: Any, arn: str, secret: dict[str, Any]) -> None:
    """The user's passwords become the pending one and the current one (if any), once the user
    is not modifying (another group's rotation of the same user may be)."""
    current = value(client, arn, CURRENT).get("password")
    passwords = [secret["password"], *([current] if current and current != secret["password"] else [])]
    _wait_active(secret["userid"])
    elasticache_client().modify_user(
        UserId=secret["userid"], AuthenticationMode={"Type": "password", "Passwords": passwords}
    )


def _wait_active(user_id: str) -> bool:
    """Whether the user is active (not modifying) within ACTIVE_WITHIN_S."""
    deadline = time.monotonic() + ACTIVE_WITHIN_S
    while True:
        [user] = elasticache_client().describe_users(UserId=user_id)["Users"]
        if user["Status"] == "active":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(3)


def can_log_in(secret: dict[str, Any], wait: bool = False) -> bool:
    """AUTH with the credential succeeds (waiting, if asked, for the user to be active again and
    the groups to take the password)."""
    if not secret.get("password"):
        return False
    if wait and not _wait_active(secret["userid"]):
        return False
    deadline = time.monotonic() + (ACTIVE_WITHIN_S if wait else 0)
    while True:
        if _authenticates(secret):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(3)


def _authenticates(secret: dict[str, Any]) -> bool:
    command = [b"AUTH", secret["username"].encode(), secret["password"].encode()]
    request = f"*{len(command)}\r\n".encode() + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in command)
    try:
        with _connect(secret["host"], int(secret["port"])) as connection:
            connection.sendall(request)
            return connection.makefile("rb").readline().startswith(b"+OK")
    except OSError:
        return False


def _connect(host: str, port: int) -> socket.socket:
    """TLS verified against the system's CAs (ElastiCache's certificates are Amazon-issued),
    unless REDIS_TLS is `disable`."""
    raw = socket.create_connection((host, port), timeout=5)
    if os.environ.get("REDIS_TLS", "verify") == "disable":
        return raw
    return ssl.create_default_context().wrap_socket(raw, server_hostname=host)
