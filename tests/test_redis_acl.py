"""The Redis ACL users of #24 on a real Redis 7: each client reaches its own keys with its own
commands and nothing else; and the reason sessions need a group of their own."""

from __future__ import annotations

import json

import pytest
import redis as redis_client

from components.data.redis_acl import (
    GATEWAY_CACHE,
    GATEWAY_RATE_LIMIT,
    ODOO_SESSIONS,
    RedisClient,
    access_string,
    group_problems,
)
from realserver.redis import LocalRedis, RedisError
from realserver.rotation import Credential, LocalSecretsManager

pytestmark = pytest.mark.real_server
PASSWORD = "a-long-test-password-0123456789"
CLIENTS = (ODOO_SESSIONS, GATEWAY_CACHE, GATEWAY_RATE_LIMIT)


@pytest.fixture(scope="module")
def redis():
    with LocalRedis() as server:
        for client in CLIENTS:
            # ElastiCache takes the access string as is; a local user also needs its password.
            server.command("ACL", "SETUSER", client.name, "reset", *access_string(client).split(), f">{PASSWORD}")
        server.command("SET", "session:0b1c2d", "alice")
        server.command("SET", "cache:/api/products", "[]")
        yield server


def as_client(redis: LocalRedis, client: RedisClient, *parts: str):
    return redis.command(*parts, user=(client.name, PASSWORD))


def test_each_client_reaches_its_own_keys(redis):
    assert as_client(redis, ODOO_SESSIONS, "GET", "session:0b1c2d") == "alice"
    assert as_client(redis, GATEWAY_CACHE, "GET", "cache:/api/products") == "[]"
    assert as_client(redis, GATEWAY_RATE_LIMIT, "INCR", "ratelimit:203.0.113.7") == 1


@pytest.mark.parametrize(
    ("client", "parts"),
    [
        (GATEWAY_CACHE, ("GET", "session:0b1c2d")),
        (GATEWAY_RATE_LIMIT, ("SET", "session:0b1c2d", "mallory")),
        (ODOO_SESSIONS, ("GET", "cache:/api/products")),
        (ODOO_SESSIONS, ("FLUSHALL",)),
        (GATEWAY_CACHE, ("CONFIG", "GET", "*")),
        (GATEWAY_RATE_LIMIT, ("KEYS", "*")),
    ],
    ids=lambda value: value.name if isinstance(value, RedisClient) else " ".join(value),
)
def test_no_client_reaches_another_clients_keys_or_other_commands(redis, client, parts):
    with pytest.raises(RedisError, match="NOPERM"):
        as_client(redis, client, *parts)


def test_listing_keys_shows_other_clients_key_names(redis):
    """Why sessions get a group of their own: key patterns do not filter what KEYS lists, so the
    gateway's cache invalidation would see every session id (a bearer token) beside it."""
    assert as_client(redis, GATEWAY_CACHE, "KEYS", "session:*") == ["session:0b1c2d"]
    assert group_problems("shared", CLIENTS) == [
        "shared: gateway-cache lists key names (keys) beside odoo-sessions's keys",
    ]
    # Odoo lists its own sessions; the rate-limit windows beside them are named by address.
    assert as_client(redis, ODOO_SESSIONS, "SCAN", "0", "MATCH", "session:*")[1] == ["session:0b1c2d"]


def test_the_split_layout_is_safe_and_overlaps_are_caught():
    assert group_problems("sessions", (ODOO_SESSIONS, GATEWAY_RATE_LIMIT)) == []
    assert group_problems("cache", (GATEWAY_CACHE,)) == []
    greedy = RedisClient("greedy", ("s*",), ("get",))
    assert group_problems("sessions", (ODOO_SESSIONS, greedy)) == [
        "sessions: odoo-sessions's session:* and greedy's s* cover the same keys"
    ]


# --- the users' passwords, rotated by the rotation function ------------------------------------


@pytest.fixture
def rotated():
    """A Redis whose ACL user is the program's (with a first password nobody is given) and its
    secret in Secrets Manager, rotated by the function (ElastiCache's API played by the ACL)."""
    with LocalRedis() as server, LocalSecretsManager() as secrets:
        secrets.add_redis_user(server, ODOO_SESSIONS)
        yield server, secrets


def authenticates(redis: LocalRedis, credential: Credential) -> bool:
    try:
        return redis.command("EXISTS", "session:probe", user=(credential.username, credential.password)) == 0
    except RedisError:
        return False


def test_the_first_rotation_retires_the_program_s_password(rotated):
    redis, secrets = rotated
    first = secrets.rotate(ODOO_SESSIONS.name)
    assert authenticates(redis, first)
    assert not authenticates(redis, Credential(ODOO_SESSIONS.name, "program-first-0123456789"))


def test_the_previous_password_lasts_one_more_rotation(rotated):
    """ElastiCache keeps two passwords per user: a pod that read the previous one keeps working."""
    redis, secrets = rotated
    first = secrets.rotate(ODOO_SESSIONS.name)
    second = secrets.rotate(ODOO_SESSIONS.name)
    assert authenticates(redis, first) and authenticates(redis, second)
    third = secrets.rotate(ODOO_SESSIONS.name)
    assert not authenticates(redis, first) and authenticates(redis, second) and authenticates(redis, third)


def test_the_secret_s_url_logs_a_client_in_as_its_user(rotated):
    """What Odoo reads (ODOO_SESSION_REDIS_URL_FILE): the URL, TLS off for the local server."""
    _, secrets = rotated
    secrets.rotate(ODOO_SESSIONS.name)
    value = json.loads(
        secrets.client.get_secret_value(SecretId=secrets.arns[ODOO_SESSIONS.name], VersionStage="AWSCURRENT")[
            "SecretString"
        ]
    )
    client = redis_client.from_url(value["url"].replace("rediss://", "redis://"), socket_timeout=5)
    try:
        assert client.set("session:9f8e", "bob") is True and client.get("session:9f8e") == b"bob"
        with pytest.raises(redis_client.exceptions.NoPermissionError):
            client.get("cache:/api/products")
    finally:
        client.close()
