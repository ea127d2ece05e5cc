"""Who may do what in the Redis groups: one ACL user per client, limited to its keys and to the
commands it runs (#24). Pure, so a real Redis 7 proves the access strings (tests) before
ElastiCache RBAC users carry them.

ElastiCache access strings are Redis ACL rules without a password (`on ~pattern -@all +cmd`).
Two rules the design depends on:
- Key patterns limit which keys a command touches, not which *names* `KEYS` or `SCAN` list: a
  client that may list keys sees every key name of its group, another client's included. Odoo's
  session keys are named by session id, a bearer token; so no *other* client that lists keys
  may share a group with the sessions (the gateway's cache invalidation lists `cache:*`). Odoo
  itself lists its sessions (device revocation scans `session:*`): beside it, the rate-limit
  windows' names (client addresses) are no secret.
- Patterns of two clients never overlap, so neither can read or overwrite the other's keys.

Every client may PING (clients check the connection) and run MULTI/EXEC (redis-py's pipelines
are transactions by default); none may run scripts, which could touch keys ACLs cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Commands that list key names whatever the key patterns say.
LISTING = frozenset({"keys", "scan"})


@dataclass(frozen=True)
class RedisClient:
    #: The ACL user's name (and the ElastiCache user's).
    name: str
    #: Key patterns it may touch, each `<prefix>:*`.
    key_patterns: tuple[str, ...]
    #: The commands it runs, and nothing else.
    commands: tuple[str, ...]
    #: Its key names are secrets (session ids are bearer tokens): no other client that lists
    #: key names may share its group.
    secret_names: bool = False


#: What every client's connection and pipelines need.
CONNECTION = ("ping", "multi", "exec")


#: Odoo's session store (session_redis: SET, EXPIRE, GET, DEL on `session:<sid>`; Odoo 18's
#: device revocation lists them with SCAN or KEYS).
ODOO_SESSIONS = RedisClient(
    "odoo-sessions",
    ("session:*",),
    ("get", "set", "setex", "expire", "del", "exists", "scan", "keys", *CONNECTION),
    secret_names=True,
)
#: The gateway's response cache: it invalidates by listing `cache:*`.
GATEWAY_CACHE = RedisClient(
    "gateway-cache", ("cache:*",), ("get", "set", "del", "expire", "ttl", "exists", "mget", "keys", *CONNECTION)
)
#: The gateway's rate-limit windows: counters with a TTL.
GATEWAY_RATE_LIMIT = RedisClient(
    "gateway-ratelimit",
    ("ratelimit:*",),
    ("get", "set", "incr", "incrby", "expire", "pexpire", "ttl", "pttl", *CONNECTION),
)


#: The groups of each cache layout, and the clients (ACL users) of each group.
LAYOUTS: dict[str, dict[str, tuple[RedisClient, ...]]] = {
    "split": {"sessions": (ODOO_SESSIONS, GATEWAY_RATE_LIMIT), "cache": (GATEWAY_CACHE,)},
    "shared": {"shared": (ODOO_SESSIONS, GATEWAY_CACHE, GATEWAY_RATE_LIMIT)},
}


def access_string(client: RedisClient) -> str:
    """The client's rules: on, its key patterns, no command but its own."""
    patterns = " ".join(f"~{pattern}" for pattern in client.key_patterns)
    return f"on {patterns} -@all " + " ".join(f"+{command}" for command in client.commands)


def _prefix(pattern: str) -> str:
    return pattern.removesuffix("*")


def group_problems(group: str, clients: Sequence[RedisClient]) -> list[str]:
    """What makes sharing one group unsafe: patterns that overlap, or a client that lists key
    names beside another client whose key names are secrets."""
    problems = [
        f"{group}: {a.name}'s {p} and {b.name}'s {q} cover the same keys"
        for i, a in enumerate(clients)
        for b in clients[i + 1 :]
        for p in a.key_patterns
        for q in b.key_patterns
        if _prefix(p).startswith(_prefix(q)) or _prefix(q).startswith(_prefix(p))
    ]
    problems += [
        f"{group}: {lister.name} lists key names ({', '.join(sorted(LISTING & set(lister.commands)))}) "
        f"beside {other.name}'s keys"
        for lister in clients
        if LISTING & set(lister.commands)
        for other in clients
        if other is not lister and other.secret_names
    ]
    return problems
