"""PostgreSQL connection URLs with their credentials percent-encoded, as the applications'
clients take them (the real-server tests connect through them).

Secrets may contain characters that end or split a URL's authority: `#` starts the fragment,
`@` and `:` end the userinfo, `/` and `?` the host. (The rotation function writes the Redis
users' URLs the same way: components/data/rotation/elasticache.py.)
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode


def _userinfo(user: str, password: str) -> str:
    return f"{quote(user, safe='')}:{quote(password, safe='')}@"


def postgres_url(
    user: str, password: str, host: str, port: int, database: str, params: Mapping[str, str] | None = None
) -> str:
    """libpq URI (`postgres://user:password@host:port/db?sslmode=...`)."""
    query = f"?{urlencode(dict(params))}" if params else ""
    return f"postgres://{_userinfo(user, password)}{host}:{port}/{quote(database, safe='')}{query}"
