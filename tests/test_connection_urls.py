"""Credentials in connection URLs: percent-encoded for every character a generated secret can
hold, proven with real clients against real servers."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from components.data.postgres import PASSWORD_SPECIALS
from components.data.rotation import elasticache
from realserver.connection_urls import postgres_url
from realserver.redis import LocalRedis
from synth.mock_outputs import RANDOM_LOWER, RANDOM_NUMERIC, RANDOM_SPECIAL, RANDOM_UPPER, random_password

ALPHANUMERIC = RANDOM_LOWER + RANDOM_UPPER + RANDOM_NUMERIC
#: Every alphabet a secret of this program is drawn from, plus the provider's default one.
ALPHABETS = {
    "rds": PASSWORD_SPECIALS,
    "random-default": RANDOM_SPECIAL,
}


def token(specials: str, length: int = 64) -> str:
    """A secret as the random provider draws it, holding every special of its alphabet."""
    return random_password(f"token-{specials}", {"length": length, "overrideSpecial": specials})


@pytest.mark.parametrize("alphabet", sorted(ALPHABETS))
def test_the_mock_secrets_hold_every_special(alphabet):
    assert set(ALPHABETS[alphabet]) <= set(token(ALPHABETS[alphabet]))


@given(st.sampled_from(sorted(ALPHABETS)).flatmap(lambda a: st.text(ALPHANUMERIC + ALPHABETS[a], min_size=1)))
def test_urls_round_trip_any_secret(secret):
    user = {"engine": "redis", "username": "gateway-cache", "host": "master.sd.cache.amazonaws.com", "port": 6379}
    parsed = urlparse(elasticache.pending(user, secret)["url"])
    assert (parsed.scheme, parsed.hostname, parsed.port, parsed.path) == (
        "rediss",
        "master.sd.cache.amazonaws.com",
        6379,
        "/0",
    )
    assert unquote(parsed.password or "") == secret and parsed.username == "gateway-cache"
    dsn = urlparse(postgres_url("sdadmin", secret, "db.internal", 5432, "odoo", {"sslmode": "require"}))
    assert (dsn.hostname, dsn.port, dsn.path, dsn.query) == ("db.internal", 5432, "/odoo", "sslmode=require")
    assert unquote(dsn.password or "") == secret and dsn.username == "sdadmin"


@pytest.mark.real_server
def test_a_redis_client_logs_in_as_its_user_with_the_rotation_s_url():
    """The URL the rotation writes (TLS off for the local server) logs a real client in as the
    ACL user, whatever the password holds."""
    secret = token(RANDOM_SPECIAL)
    with LocalRedis() as server:
        server.command("ACL", "SETUSER", "odoo-sessions", "on", f">{secret}", "~session:*", "+ping", "+acl|whoami")
        user = {"engine": "redis", "username": "odoo-sessions", "host": "127.0.0.1", "port": server.port}
        url = elasticache.pending(user, secret)["url"].replace("rediss://", "redis://")
        client = redis.from_url(url, socket_timeout=5)
        try:
            assert client.ping() is True and client.acl_whoami() == "odoo-sessions"
        finally:
            client.close()
