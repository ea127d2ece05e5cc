"""The parameter groups the stacks render, loaded into real PostgreSQL and Redis servers.

What would otherwise fail at `pulumi up` (a misspelled parameter, a value the engine rejects, a
preload list without pg_stat_statements) fails here.
"""

from __future__ import annotations

import pytest

from components.data.postgres_parameters import PostgresTuning, engine_settings, postgres_parameters
from components.data.redis_parameters import STARTUP_ONLY, RedisTuning, redis_parameters
from realserver import postgres, redis
from stacks.wiring import args_from
from tests.conftest import ROOT, STACKS, load_config, stack_file_config

pytestmark = pytest.mark.real_server

SEED_AUDIT = ROOT / "tests" / "fixtures" / "seed" / "slow_query_analysis.sql"


def rendered_postgres(stack: str) -> dict[str, str]:
    database = load_config(stack_file_config(stack)).database
    return engine_settings(postgres_parameters(args_from(database, PostgresTuning)))


def seed_audit_queries() -> list[str]:
    """The Day 281 audit (scripts/db_audit/slow_query_analysis.sql), as the seed has it."""
    body = "\n".join(line for line in SEED_AUDIT.read_text().splitlines() if not line.strip().startswith("--"))
    return [q.strip() for q in body.split(";") if q.strip()]


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_postgres_settings_start_and_read_back(stack):
    settings = rendered_postgres(stack)
    assert "max_connections" in settings and "shared_preload_libraries" in settings
    assert postgres.verify_settings(settings) == []


def test_seed_audit_queries_run_against_the_rendered_settings():
    queries = seed_audit_queries()
    assert len(queries) == 7 and queries[0].upper().startswith("CREATE EXTENSION IF NOT EXISTS PG_STAT_STATEMENTS")
    with postgres.LocalPostgres(rendered_postgres("prod")) as pg:
        pg.sql("CREATE TABLE sale_order (id serial PRIMARY KEY, partner_id int, amount_total numeric)")
        pg.sql("INSERT INTO sale_order (partner_id, amount_total) SELECT g % 97, g FROM generate_series(1, 20000) g")
        for query in queries[:1]:
            pg.sql(query)
        workload = "; ".join(["SELECT sum(amount_total) FROM sale_order WHERE partner_id = 7"] * 150)
        pg.sql(workload)
        results = [pg.sql(query) for query in queries[1:]]
    slowest, high_io = results[0], results[1]
    assert any("sale_order" in row[-1] for row in slowest), "pg_stat_statements recorded nothing"
    assert any("sale_order" in row[0] and int(row[1]) >= 150 for row in high_io)


@pytest.mark.parametrize(
    "settings,expected",
    [
        ({"pg_stat_statments.track": "all"}, "pg_stat_statments.track: not a parameter this server knows"),
        ({"work_mem": "lots"}, "server refused the settings"),
        ({"shared_preload_libraries": "pg_stat_statement"}, "server refused the settings"),
        ({"random_page_cost": "-1"}, "server refused the settings"),
    ],
)
def test_postgres_check_catches_bad_names_and_values(settings, expected):
    problems = postgres.verify_settings(settings)
    assert problems and problems[0].startswith(expected)


@pytest.mark.parametrize("role", ["sessions", "cache", "shared"])
def test_rendered_redis_parameters_set_and_read_back(role):
    config = load_config(stack_file_config("prod")).cache
    parameters = redis_parameters(args_from(config, RedisTuning, role=role, cluster_mode=False))
    assert redis.verify_parameters(parameters, STARTUP_ONLY) == []


def test_cluster_mode_parameters_start_a_cluster_node():
    parameters = redis_parameters(RedisTuning("cache", 300, 10000, cluster_mode=True))
    assert parameters["cluster-enabled"] == "yes"
    assert redis.verify_parameters(parameters, STARTUP_ONLY) == []


@pytest.mark.parametrize(
    "parameters,expected",
    [
        ({"maxmemory-polcy": "noeviction"}, "maxmemory-polcy = 'noeviction'"),
        ({"maxmemory-policy": "evict-sessions-last"}, "maxmemory-policy = 'evict-sessions-last'"),
        ({"timeout": "-5"}, "timeout = '-5'"),
    ],
)
def test_redis_check_catches_bad_names_and_values(parameters, expected):
    problems = redis.verify_parameters(parameters, STARTUP_ONLY)
    assert problems and problems[0].startswith(expected)


def test_noeviction_refuses_writes_instead_of_dropping_sessions():
    """The sessions role's policy, shown on a real server: at the memory limit a write fails
    loudly and every existing session key survives."""
    with redis.LocalRedis() as server:
        for name, value in redis_parameters(RedisTuning("sessions", 300, 10000, cluster_mode=False)).items():
            server.command("CONFIG", "SET", name, value)
        server.command("CONFIG", "SET", "maxmemory", "2mb")
        stored = 0
        with pytest.raises(redis.RedisError, match="OOM"):
            for stored in range(100000):
                server.command("SET", f"session:{stored}", "x" * 512, "EX", "86400")
        assert server.command("DBSIZE") == stored
        assert server.command("EXISTS", "session:0") == 1


def test_volatile_ttl_evicts_short_lived_cache_before_sessions():
    """volatile-ttl evicts, among sampled keys with a TTL, those closest to expiry. Sampling makes
    it approximate, so the claim is "nearly every session survives while most cache entries go",
    not "every session, always"."""
    with redis.LocalRedis() as server:
        for name, value in redis_parameters(RedisTuning("shared", 300, 10000, cluster_mode=False)).items():
            server.command("CONFIG", "SET", name, value)
        for i in range(200):
            server.command("SET", f"session:{i}", "s" * 512, "EX", "604800")
        used = int(server.command("INFO", "memory").split("used_memory:")[1].split()[0])
        server.command("CONFIG", "SET", "maxmemory", str(used + 400_000))
        for i in range(3000):
            server.command("SET", f"api:{i}", "c" * 512, "EX", "300")
        sessions_left = sum(server.command("EXISTS", f"session:{i}") for i in range(200))
        cache_left = server.command("DBSIZE") - sessions_left
    assert sessions_left >= 196  # 98 %
    assert cache_left < 1500  # most of the 3,000 cache entries were evicted


def test_redis_ports_leave_room_for_the_cluster_bus():
    """A cluster node also binds port + 10000: a port above 55535 made cluster mode fail at random."""
    from realserver.postgres import free_port

    assert all(free_port(highest=55535) <= 55535 for _ in range(300))
