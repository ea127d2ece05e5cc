"""The JSON of the secrets the rotation function rotates (components/data/rotation/rotate.py),
built by the program and by the real-server tests alike.

Both carry what AWS's own rotation templates expect (engine, host, port, dbname, username,
password) plus `scheme`; an application role's also names its pair of login roles, the master
secret the function administers it with, and whether PgBouncer looks its verifier up.
"""

from __future__ import annotations

from typing import Any

#: The second login role of each pair (AWS's alternating-users rotation names it so).
CLONE_SUFFIX = "_clone"


def pair(role: str) -> tuple[str, str]:
    """A role and its clone: the two login roles one credential alternates between."""
    return (role, f"{role}{CLONE_SUFFIX}")


def master_value(host: str, port: int, dbname: str, username: str, password: str) -> dict[str, Any]:
    """The master's secret: rotated by the master itself (single user)."""
    return {
        "engine": "postgres",
        "scheme": "single",
        "host": host,
        "port": port,
        "dbname": dbname,
        "username": username,
        "password": password,
    }


def role_value(host: str, port: int, dbname: str, role: str, master_arn: str, pooled: bool) -> dict[str, Any]:
    """An application role's secret before its first rotation: no password (the role has none
    either), so the value the program writes is no credential at all."""
    return {
        "engine": "postgres",
        "scheme": "alternating",
        "host": host,
        "port": port,
        "dbname": dbname,
        "username": role,
        "users": list(pair(role)),
        "masterarn": master_arn,
        "pooled": pooled,
    }


def redis_user_value(user_id: str, username: str, host: str, port: int) -> dict[str, Any]:
    """An ElastiCache user's secret before its first rotation: no password, no URL."""
    return {"engine": "redis", "userid": user_id, "username": username, "host": host, "port": port}
