"""PgBouncer with exactly the rendered configuration, against a real PostgreSQL whose
max_connections is scaled down so the budget is tight."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from components.apps.pgbouncer_config import (
    BUDGET_SHARE,
    ClientDemand,
    IniSettings,
    PoolRole,
    ServerTimeouts,
    Target,
    connection_budget,
    render_ini,
    render_userlist,
)
from components.data.connection_urls import postgres_url
from components.data.postgres import PASSWORD_SPECIALS
from tests.harness.mock_outputs import random_password
from tests.harness.realserver.pgbouncer import LocalPgBouncer
from tests.harness.realserver.postgres import LocalPostgres

pytestmark = pytest.mark.real_server

#: A master password as RDS would get it: every special character the program allows in it.
USER, PASSWORD, DATABASE = (
    "sdadmin",
    random_password("pg-master", {"length": 40, "overrideSpecial": PASSWORD_SPECIALS}),
    "odoo",
)
MAX_CONNECTIONS = 40
ROLES = [
    PoolRole("rw", "transaction", False, replicas=1, pool_size=8, reserve_pool_size=2, max_client_conn=300),
    PoolRole("ro", "transaction", True, replicas=1, pool_size=6, reserve_pool_size=1, max_client_conn=300),
    PoolRole("session", "session", False, replicas=1, pool_size=4, reserve_pool_size=1, max_client_conn=50),
]
DEMAND = ClientDemand(
    odoo_max_pods=5,
    odoo_workers_per_pod=4,
    odoo_db_maxconn=8,
    longpolling_max_pods=2,
    gateway_max_pods=4,
    gateway_pool_size=10,
)


def ini_for(role: PoolRole) -> str:
    return render_ini(
        IniSettings(role, DATABASE, ["db.internal"], 5432, USER, "pgbouncer_stats", ServerTimeouts(300, 3600, 30))
    )


@pytest.fixture(scope="module")
def stack():
    """One local server plays primary and replica, so every pool's budget lands on it."""
    budget = connection_budget(
        ROLES, Target("primary", MAX_CONNECTIONS), [Target("replica-1", MAX_CONNECTIONS)], DEMAND
    )
    assert budget.problems == []
    server_budget = sum(budget.per_target.values())
    assert server_budget <= BUDGET_SHARE * MAX_CONNECTIONS
    with LocalPostgres({"max_connections": str(MAX_CONNECTIONS), "password_encryption": "scram-sha-256"}) as pg:
        pg.sql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        pg.sql(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        userlist = render_userlist({USER: PASSWORD})
        bouncers = {role.name: LocalPgBouncer(ini_for(role), userlist, "127.0.0.1", pg.port) for role in ROLES}
        for bouncer in bouncers.values():
            bouncer.__enter__()
        try:
            yield pg, bouncers, server_budget
        finally:
            for bouncer in bouncers.values():
                bouncer.__exit__(None, None, None)


def connect(bouncer: LocalPgBouncer, **kwargs) -> psycopg.Connection:
    """Through the URL form the program renders, so the password's specials must survive it."""
    return psycopg.connect(
        postgres_url(USER, PASSWORD, "127.0.0.1", bouncer.port, DATABASE), prepare_threshold=None, **kwargs
    )


def test_rendered_config_keeps_the_production_pool_settings(stack):
    _, bouncers, _ = stack
    ini = bouncers["rw"].ini
    assert "pool_mode = transaction" in ini and "default_pool_size = 8" in ini and "max_db_connections = 10" in ini
    assert "pool_mode = session" in bouncers["session"].ini
    assert PASSWORD not in ini


@pytest.mark.parametrize("role", ["rw", "ro", "session"])
def test_transactions_through_each_pool(stack, role):
    _, bouncers, _ = stack
    with connect(bouncers[role]) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS t_{role} (id int primary key, note text)")
        with conn.transaction():
            conn.execute(f"INSERT INTO t_{role} VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET note = 'b'")
        assert conn.execute(f"SELECT count(*) FROM t_{role}").fetchone()[0] == 1


def test_listen_notify_works_through_the_session_pool(stack):
    """Odoo's bus keeps LISTEN on one server connection: only session pooling guarantees that."""
    _, bouncers, _ = stack
    with (
        connect(bouncers["session"], autocommit=True) as listener,
        connect(bouncers["rw"], autocommit=True) as notifier,
    ):
        listener.execute("LISTEN imbus")
        notifier.execute("NOTIFY imbus, 'order 42 confirmed'")
        received = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert received == ["order 42 confirmed"]


def test_many_clients_never_exceed_the_server_budget(stack):
    pg, bouncers, server_budget = stack
    clients = 150
    peak = 0
    done = threading.Event()
    errors: list[Exception] = []

    def client(index: int) -> None:
        try:
            bouncer = bouncers["rw" if index % 3 else "ro"]
            with connect(bouncer, autocommit=True) as conn:
                for _ in range(5):
                    conn.execute("SELECT pg_sleep(0.02)")
        except Exception as exc:
            errors.append(exc)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            count = int(pg.sql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{USER}'")[0][0])
            peak = max(peak, count)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    assert errors == []
    assert 0 < peak <= server_budget
    print(f"\n{clients} clients through PgBouncer, peak server connections {peak} (budget {server_budget})")
