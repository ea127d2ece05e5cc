"""Credentials in connection URLs: percent-encoded for every character a generated secret can
hold, proven with real clients against real servers."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from requests.utils import get_auth_from_url

from components.data.connection_urls import https_url, postgres_url, redis_url
from components.data.postgres import PASSWORD_SPECIALS
from components.data.redis import AUTH_TOKEN_SPECIALS
from components.data.search import PASSWORD_SPECIALS as SEARCH_SPECIALS
from realserver.redis import LocalRedis
from synth.mock_outputs import RANDOM_LOWER, RANDOM_NUMERIC, RANDOM_SPECIAL, RANDOM_UPPER, random_password

ALPHANUMERIC = RANDOM_LOWER + RANDOM_UPPER + RANDOM_NUMERIC
#: Every alphabet a secret of this program is drawn from, plus the provider's default one.
ALPHABETS = {
    "elasticache": AUTH_TOKEN_SPECIALS,
    "rds": PASSWORD_SPECIALS,
    "opensearch": SEARCH_SPECIALS,
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
    parsed = urlparse(redis_url(secret, "master.sd.cache.amazonaws.com", 6379))
    assert (parsed.scheme, parsed.hostname, parsed.port, parsed.path) == (
        "rediss",
        "master.sd.cache.amazonaws.com",
        6379,
        "/0",
    )
    assert unquote(parsed.password or "") == secret and parsed.username == ""
    dsn = urlparse(postgres_url("sdadmin", secret, "db.internal", 5432, "odoo", {"sslmode": "require"}))
    assert (dsn.hostname, dsn.port, dsn.path, dsn.query) == ("db.internal", 5432, "/odoo", "sslmode=require")
    assert unquote(dsn.password or "") == secret and dsn.username == "sdadmin"
    search = https_url("search-admin", secret, "vpc-sd-search.eu-west-1.es.amazonaws.com")
    # requests (and the OpenSearch clients built on urllib3) take basic auth from the URL so.
    assert get_auth_from_url(search) == ("search-admin", secret)
    assert urlparse(search).hostname == "vpc-sd-search.eu-west-1.es.amazonaws.com"


def test_program_redis_urls_carry_the_generated_token(run):
    """The URL the apps receive parses back to exactly the token ElastiCache was given."""
    tokens = {r.name: r.state["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")}
    secrets = [
        s for s in run.of_type("kubernetes:core/v1:Secret") if "redis-url" in s.plain_inputs.get("stringData", {})
    ]
    assert secrets
    for secret in secrets:
        parsed = urlparse(secret.plain_inputs["stringData"]["redis-url"])
        assert unquote(parsed.password) in tokens.values()
        assert parsed.hostname.endswith(".cache.amazonaws.com") and parsed.port == 6379


@pytest.mark.real_server
def test_redis_client_authenticates_with_a_token_holding_every_allowed_special():
    secret = token(AUTH_TOKEN_SPECIALS)
    assert "#" in secret and "&" in secret
    with LocalRedis({"requirepass": secret}) as server:
        client = redis.from_url(redis_url(secret, "127.0.0.1", server.port, tls=False), socket_timeout=5)
        try:
            assert client.ping() is True
        finally:
            client.close()


@pytest.mark.real_server
def test_a_raw_token_in_the_url_breaks_the_client():
    """What the program built before: '#' ends the authority, so the client never reaches AUTH."""
    secret = token(AUTH_TOKEN_SPECIALS)
    with LocalRedis({"requirepass": secret}) as server, pytest.raises((ValueError, redis.RedisError)):
        redis.from_url(f"redis://:{secret}@127.0.0.1:{server.port}/0", socket_timeout=5).ping()
