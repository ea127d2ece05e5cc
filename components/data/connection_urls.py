"""Connection URLs with their credentials percent-encoded.

Generated secrets contain characters that end or split a URL's authority: `#` (one of the eight
specials ElastiCache allows in AUTH tokens) starts the fragment, `@` and `:` end the userinfo,
`/` and `?` the host. A raw token in `rediss://:<token>@host` breaks `urlparse` and every client
that uses it on most draws, so every URL the program builds goes through here.
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


def https_url(user: str, password: str, host: str, port: int = 443) -> str:
    """`https://user:password@host:port` (OpenSearch with fine-grained access control)."""
    return f"https://{_userinfo(user, password)}{host}:{port}"
