"""The database bootstrap on a real PostgreSQL: the Job's exact command and script, run as a
master user with RDS's limits (no superuser, no pg_shadow), twice; then, once the rotation
function has given each role its first password, what each role may do.

PgBouncer's auth_query with these roles is proven in tests/test_pgbouncer_real.py, the rotation
itself in tests/test_credential_rotation_real.py.
"""

from __future__ import annotations

import psycopg
import pytest

from components.apps.database_bootstrap_sql import DatabaseRoles
from components.data.rds_trust import BUNDLE_FILE
from realserver.postgres import LocalPostgres
from realserver.rds import DATABASE, MASTER, MASTER_PASSWORD, rds_like, roles_for, run_bootstrap
from realserver.rotation import Credential, LocalSecretsManager

pytestmark = pytest.mark.real_server

CATALOGUE = ("product_template", "stock_quant")
SETTINGS = {"password_encryption": "scram-sha-256", "shared_preload_libraries": "pg_stat_statements"}
#: What Odoo creates at its first start, as the owner role: catalogue tables and its users.
ODOO_SCHEMA = (
    "SET ROLE odoo; CREATE TABLE product_template (id int PRIMARY KEY, name text);"
    "CREATE TABLE stock_quant (id int PRIMARY KEY, product_id int, quantity numeric);"
    "CREATE TABLE res_users (id int PRIMARY KEY, login text, password text);"
    "INSERT INTO product_template VALUES (1, 'Full cream milk 1L');"
    "INSERT INTO res_users VALUES (1, 'admin', '$pbkdf2-sha512$...')"
)
#: Everything the script decides, read back as the superuser.
STATE = {
    "roles": "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, "
    "rolpassword FROM pg_authid WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1",
    "settings": "SELECT pg_get_userbyid(setrole), setconfig::text FROM pg_db_role_setting ORDER BY 1",
    "members": "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
    "JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2",
    "database": f"SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = '{DATABASE}'",
    "tables": "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relacl::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'pgbouncer') "
    "AND c.relkind = 'r' ORDER BY 1, 2",
    "schemas": "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace "
    "WHERE nspname IN ('public', 'pgbouncer') ORDER BY 1",
    "functions": "SELECT proname, pg_get_userbyid(proowner), prosecdef, proconfig::text, proacl::text FROM pg_proc "
    "WHERE pronamespace = 'pgbouncer'::regnamespace",
    "lookup": "SELECT usename, verifier FROM pgbouncer.auth_verifiers ORDER BY 1",
    "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
}


def state(pg: LocalPostgres) -> dict[str, list[list[str]]]:
    return {name: pg.sql(query, db=DATABASE) for name, query in STATE.items()}


def bootstrap(pg: LocalPostgres, roles: DatabaseRoles) -> None:
    run = run_bootstrap(pg, roles)
    assert run.returncode == 0, run.stderr


def connect(pg: LocalPostgres, credential: Credential, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1",
        port=pg.port,
        user=credential.username,
        password=credential.password,
        dbname=DATABASE,
        autocommit=autocommit,
    )


@pytest.fixture(scope="module")
def database():
    """First `up`: the roles, before Odoo has a table, then each secret's first rotation. Odoo
    then creates its schema as the owner, and the next `up` (the Job's script changed) grants
    the reader what now exists."""
    with LocalPostgres(SETTINGS) as pg:
        rds_like(pg)
        bootstrap(pg, roles_for(*CATALOGUE))
        with LocalSecretsManager(pg, roles_for(*CATALOGUE)) as secrets:
            credentials = secrets.rotate_all()
            pg.sql(ODOO_SCHEMA, db=DATABASE)
            bootstrap(pg, roles_for(*CATALOGUE))
            yield pg, credentials


def test_the_master_has_rds_limits(database):
    """The premise: the script succeeds without superuser and without pg_shadow."""
    pg, _ = database
    assert pg.sql(f"SELECT rolsuper FROM pg_roles WHERE rolname = '{MASTER}'") == [["f"]]
    with connect(pg, Credential(MASTER, MASTER_PASSWORD)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT passwd FROM pg_shadow")


def test_the_job_refuses_a_server_its_bundle_does_not_sign(database):
    """verify-full for real: with every RDS root (not the local one), psql will not
    talk to the local server, so the master's password is never sent to an impostor."""
    pg, _ = database
    refused = run_bootstrap(pg, roles_for(*CATALOGUE), root=BUNDLE_FILE)
    assert refused.returncode != 0 and "certificate verify failed" in refused.stderr


def test_a_second_run_changes_nothing(database):
    """Passwords and the lookup's verifiers included: the rotation owns them, the Job never touches them."""
    pg, _ = database
    before = state(pg)
    bootstrap(pg, roles_for(*CATALOGUE))
    after = state(pg)
    assert {k: v for k, v in after.items() if v != before[k]} == {}
    assert before["extensions"] == [["pg_stat_statements"], ["plpgsql"]]


def test_only_one_of_each_pair_has_a_password_until_the_next_rotation(database):
    """The Job creates every role without a password; the first rotation gave one of each pair
    its password, set as the lookup's verifier byte for byte (SCRAM pass-through's condition)."""
    pg, credentials = database
    stored = dict(
        pg.sql(
            "SELECT rolname, coalesce(rolpassword, '') FROM pg_authid "
            "WHERE rolname ~ '^(odoo|gateway_ro|pgbouncer_auth)'"
        )
    )
    assert {user for user, verifier in stored.items() if verifier} == {c.username for c in credentials.values()}
    lookup = dict(pg.sql("SELECT usename, verifier FROM pgbouncer.auth_verifiers", db=DATABASE))
    pooled = {credentials[key].username for key in ("owner", "reader")}
    assert set(lookup) == pooled and all(lookup[user] == stored[user] for user in pooled)


def test_odoo_owns_its_database_and_nothing_more(database):
    """Whichever of the pair logs in, it acts as `odoo`: what it creates belongs to odoo, so the
    other of the pair may alter it after the next rotation."""
    pg, credentials = database
    with connect(pg, credentials["owner"], autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("odoo",)
        conn.execute("CREATE TABLE sale_order (id int PRIMARY KEY)")
        table_owner = conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'sale_order'")
        assert table_owner.fetchone() == ("odoo",)
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner.fetchone() == ("odoo",)
        for statement in ("CREATE ROLE intruder", "CREATE DATABASE other", "SELECT * FROM pgbouncer.auth_verifiers"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert pg.sql("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'odoo'") == [
        ["f", "f", "f"]
    ]


def test_gateway_ro_reads_the_catalogue_and_cannot_write(database):
    pg, credentials = database
    with connect(pg, credentials["reader"]) as conn:
        assert conn.execute("SELECT name FROM product_template").fetchall() == [("Full cream milk 1L",)]
        assert conn.execute("SELECT count(*) FROM stock_quant").fetchone() == (0,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO product_template VALUES (2, 'x')")
        conn.rollback()
        # Read-only by default, and by privilege when the session turns that off.
        conn.execute("SET default_transaction_read_only = off")
        conn.commit()
        for statement in (
            "INSERT INTO product_template VALUES (2, 'x')",
            "SELECT * FROM res_users",
            "CREATE TABLE mine (id int)",
            "SELECT * FROM pgbouncer.user_lookup('odoo')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


def test_pgbouncer_auth_may_only_run_the_lookup(database):
    pg, credentials = database
    owner = credentials["owner"].username
    verifier = pg.sql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{owner}'")[0][0]
    with connect(pg, credentials["auth_user"]) as conn:
        lookup = "SELECT uname, phash FROM pgbouncer.user_lookup(%s)"
        assert conn.execute(lookup, (owner,)).fetchone() == (owner, verifier)
        # The master and the auth user itself are not pooled: PgBouncer cannot log them in.
        assert conn.execute(lookup, (MASTER,)).fetchone() is None
        assert conn.execute(lookup, ("pgbouncer_auth",)).fetchone() is None
        assert conn.execute(lookup, ("pgbouncer_auth_clone",)).fetchone() is None
        for statement in ("SELECT * FROM pgbouncer.auth_verifiers", "SELECT * FROM product_template"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


def test_a_rerun_converges_the_table_list(database):
    """A table dropped from readerTables is revoked; the reader keeps what stays listed."""
    pg, credentials = database
    bootstrap(pg, roles_for("product_template"))
    try:
        with connect(pg, credentials["reader"]) as conn:
            assert conn.execute("SELECT count(*) FROM product_template").fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM stock_quant")
    finally:
        bootstrap(pg, roles_for(*CATALOGUE))


def test_a_failing_statement_leaves_nothing_behind():
    """One transaction: a run that fails half-way (a master without CREATEDB cannot hand the
    database over) leaves no role behind, and the next run starts clean."""
    with LocalPostgres(SETTINGS) as pg:
        rds_like(pg)
        pg.sql(f"ALTER ROLE {MASTER} NOCREATEDB")
        run = run_bootstrap(pg, roles_for(*CATALOGUE))
        assert run.returncode != 0 and "ALTER DATABASE" in run.stderr + pg.log.read_text()
        roles = "SELECT count(*) FROM pg_roles WHERE rolname IN ('odoo', 'gateway_ro', 'pgbouncer_auth')"
        assert pg.sql(roles) == [["0"]]
