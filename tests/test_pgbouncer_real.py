"""PgBouncer with exactly the rendered configuration, against a real PostgreSQL whose
max_connections is scaled down so the budget is tight."""

from __future__ import annotations

import dataclasses
import threading
import time

import psycopg
import pytest

from components.apps.database_bootstrap_sql import AUTH_QUERY
from components.apps.pgbouncer_config import (
    BUDGET_SHARE,
    ClientDemand,
    IniSettings,
    PoolRole,
    ServerTimeouts,
    Target,
    connection_budget,
    render_hba,
)
from components.data.rds_trust import BUNDLE_FILE
from realserver.connection_urls import postgres_url
from realserver.pgbouncer import LocalPgBouncer
from realserver.postgres import LocalPostgres
from realserver.rds import DATABASE, MASTER, MASTER_PASSWORD, rds_like, rds_root, roles_for, run_bootstrap
from realserver.rotation import Credential, LocalSecretsManager

pytestmark = pytest.mark.real_server

#: Odoo's role through every pool, with the password the bootstrap gave it.
STATS_USER = "pgbouncer_stats"
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


def settings_for(role: PoolRole) -> IniSettings:
    return IniSettings(role, DATABASE, ["db.internal"], 5432, AUTH_QUERY, STATS_USER, ServerTimeouts(300, 3600, 30))


@pytest.fixture(scope="module")
def stack():
    """One local server plays primary and replica, so every pool's budget lands on it. Its
    roles come from the bootstrap script, run as an RDS-like master."""
    budget = connection_budget(
        ROLES, Target("primary", MAX_CONNECTIONS), [Target("replica-1", MAX_CONNECTIONS)], DEMAND
    )
    assert budget.problems == []
    server_budget = sum(budget.per_target.values())
    assert server_budget <= BUDGET_SHARE * MAX_CONNECTIONS
    settings = {"max_connections": str(MAX_CONNECTIONS), "shared_preload_libraries": "pg_stat_statements"}
    with LocalPostgres(settings) as pg:
        rds_like(pg)
        assert run_bootstrap(pg, roles_for("product_template")).returncode == 0
        with LocalSecretsManager(pg, roles_for("product_template")) as secrets:
            credentials = secrets.rotate_all()
            pg.sql("SET ROLE odoo; CREATE TABLE product_template (id int, name text)", db=DATABASE)
            assert run_bootstrap(pg, roles_for("product_template")).returncode == 0
            auth = credentials["auth_user"]
            bouncers = {
                role.name: LocalPgBouncer(
                    settings_for(role),
                    render_hba(DATABASE, ("pgbouncer_auth", "pgbouncer_auth_clone"), STATS_USER),
                    auth.username,
                    auth.password,
                    "127.0.0.1",
                    pg.port,
                    rds_root(pg),
                )
                for role in ROLES
            }
            for bouncer in bouncers.values():
                bouncer.__enter__()
            try:
                yield pg, bouncers, server_budget, credentials
            finally:
                for bouncer in bouncers.values():
                    bouncer.__exit__(None, None, None)


def connect(bouncer: LocalPgBouncer, credential: Credential, **kwargs) -> psycopg.Connection:
    """Through the URL form the program renders, so any special in a password must survive it."""
    return psycopg.connect(
        postgres_url(
            credential.username, credential.password, "127.0.0.1", bouncer.port, DATABASE, bouncer.client_params()
        ),
        prepare_threshold=None,
        **kwargs,
    )


def test_rendered_config_keeps_the_production_pool_settings(stack):
    _, bouncers, _, credentials = stack
    ini = bouncers["rw"].ini
    assert "pool_mode = transaction" in ini and "default_pool_size = 8" in ini and "max_db_connections = 10" in ini
    assert "pool_mode = session" in bouncers["session"].ini
    assert not any(c.password in ini or c.username in ini for c in credentials.values())


@pytest.mark.parametrize("role", ["rw", "ro", "session"])
def test_auth_query_logs_the_application_roles_in(stack, role):
    """No application password is in PgBouncer's files: it looks the SCRAM verifier up with
    auth_query, checks the client's proof against it and logs in to the server with the keys
    of that exchange (SCRAM pass-through)."""
    _, bouncers, _, credentials = stack
    for role_name, key in (("odoo", "owner"), ("gateway_ro", "reader")):
        with connect(bouncers[role], credentials[key]) as conn:
            assert conn.execute("SELECT session_user, current_user, count(*) FROM product_template").fetchone() == (
                credentials[key].username,
                role_name,
                0,
            )


@pytest.mark.parametrize(
    ("user", "password"),
    [("odoo_clone", "wrong-password"), (MASTER, MASTER_PASSWORD), ("pgbouncer_auth", None), ("nobody", "x")],
    ids=["wrong-password", "master", "auth-user", "unknown"],
)
def test_anyone_else_is_refused(stack, user, password):
    """The master is not in the lookup: no application can use it through PgBouncer."""
    _, bouncers, _, credentials = stack
    if password is None:  # the auth_user as a client, with its real password
        user, password = credentials["auth_user"].username, credentials["auth_user"].password
    with pytest.raises(psycopg.OperationalError, match=r"authentication failed|no such user|login rejected"):
        connect(bouncers["rw"], Credential(user, password), connect_timeout=5)


def test_the_exporter_reads_stats_from_inside_the_pod_without_a_password(stack):
    """The exporter's DSN carries no password: the hba file trusts the stats user on loopback."""
    _, bouncers, _, _ = stack
    port = bouncers["rw"].port
    dsn = f"host=127.0.0.1 port={port} user={STATS_USER} dbname=pgbouncer connect_timeout=5 sslmode=disable"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW STATS").fetchall()


@pytest.mark.parametrize("role", ["rw", "ro", "session"])
def test_transactions_through_each_pool(stack, role):
    _, bouncers, _, credentials = stack
    with connect(bouncers[role], credentials["owner"]) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS t_{role} (id int primary key, note text)")
        with conn.transaction():
            conn.execute(f"INSERT INTO t_{role} VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET note = 'b'")
        assert conn.execute(f"SELECT count(*) FROM t_{role}").fetchone() == (1,)


def test_listen_notify_works_through_the_session_pool(stack):
    """Odoo's bus keeps LISTEN on one server connection: only session pooling guarantees that."""
    _, bouncers, _, credentials = stack
    owner = credentials["owner"]
    with (
        connect(bouncers["session"], owner, autocommit=True) as listener,
        connect(bouncers["rw"], owner, autocommit=True) as notifier,
    ):
        listener.execute("LISTEN imbus")
        notifier.execute("NOTIFY imbus, 'order 42 confirmed'")
        received = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert received == ["order 42 confirmed"]


def test_many_clients_never_exceed_the_server_budget(stack):
    pg, bouncers, server_budget, credentials = stack
    clients = 150
    peak = 0
    done = threading.Event()
    errors: list[Exception] = []

    def client(index: int) -> None:
        try:
            bouncer = bouncers["rw" if index % 3 else "ro"]
            with connect(bouncer, credentials["owner"], autocommit=True) as conn:
                for _ in range(5):
                    conn.execute("SELECT pg_sleep(0.02)")
        except Exception as exc:
            errors.append(exc)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            count = int(
                pg.sql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{credentials['owner'].username}'")[0][0]
            )
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


def test_a_client_without_tls_is_refused(stack):
    """The applications' logins are `hostssl`: a client that does not ask for TLS matches no line."""
    _, bouncers, _, credentials = stack
    owner = credentials["owner"]
    url = postgres_url(owner.username, owner.password, "127.0.0.1", bouncers["rw"].port, DATABASE)
    with pytest.raises(psycopg.OperationalError, match=r"login rejected|no pg_hba.conf entry"):
        psycopg.connect(url, sslmode="disable", connect_timeout=5)
    with connect(bouncers["rw"], owner) as conn:
        assert conn.info.pgconn.ssl_in_use


def test_pgbouncer_refuses_a_server_its_root_does_not_sign(stack):
    """verify-full for real: given the RDS roots instead of the local one, PgBouncer
    will not log in to the local server, so the client gets an error, not a connection."""
    pg, _, _, credentials = stack
    auth, owner = credentials["auth_user"], credentials["owner"]
    rw = next(role for role in ROLES if role.name == "rw")
    impatient = dataclasses.replace(settings_for(rw), timeouts=ServerTimeouts(300, 3600, 2, server_connect_timeout_s=1))
    hba = render_hba(DATABASE, ("pgbouncer_auth", "pgbouncer_auth_clone"), STATS_USER)
    rds_bundle = BUNDLE_FILE
    with LocalPgBouncer(impatient, hba, auth.username, auth.password, "127.0.0.1", pg.port, rds_bundle) as bouncer:
        with pytest.raises(psycopg.OperationalError), connect(bouncer, owner, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        assert "certificate verify failed" in bouncer.log_tail()


@pytest.mark.parametrize("role", ["rw", "session"])
def test_odoos_start_up_check_finds_its_database_through_the_pool(stack, role):
    """Odoo's server connects to `postgres` at start and asks whether its database exists
    (odoo.service.db._create_empty_database): PgBouncer leads the name to that database, where
    the same query finds it, so Odoo goes on instead of dying on 'no such database'."""
    _, bouncers, _, credentials = stack
    owner = credentials["owner"]
    bouncer = bouncers[role]
    url = postgres_url(owner.username, owner.password, "127.0.0.1", bouncer.port, "postgres", bouncer.client_params())
    with psycopg.connect(url, prepare_threshold=None) as conn:
        found = conn.execute("SELECT datname FROM pg_catalog.pg_database WHERE datname = %s", (DATABASE,)).fetchall()
    assert found == [(DATABASE,)]
