"""The rotation function (components/data/rotation/rotate.py) on a real PostgreSQL shaped
like RDS, with Secrets Manager from moto and the real PgBouncer in front: what a rotation
changes, what it keeps working, and that it refuses no transaction.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from components.apps.database_bootstrap_sql import AUTH_QUERY
from components.apps.pgbouncer_config import IniSettings, PoolRole, ServerTimeouts, render_hba
from components.data.rotation import rotate
from realserver.connection_urls import postgres_url
from realserver.pgbouncer import LocalPgBouncer
from realserver.postgres import LocalPostgres
from realserver.rds import DATABASE, MASTER, MASTER_PASSWORD, rds_like, rds_root, roles_for, run_bootstrap
from realserver.rotation import Credential, LocalSecretsManager

pytestmark = pytest.mark.real_server

SETTINGS = {"password_encryption": "scram-sha-256", "shared_preload_libraries": "pg_stat_statements"}
POOL = PoolRole("rw", "transaction", False, replicas=1, pool_size=6, reserve_pool_size=1, max_client_conn=100)


def login(pg: LocalPostgres, credential: Credential, bouncer: LocalPgBouncer | None = None) -> psycopg.Connection:
    """Straight to the server, verified as RDS is; or through PgBouncer as the applications."""
    where = (bouncer.port, bouncer.client_params()) if bouncer else (pg.port, {"sslmode": "verify-full"})
    url = postgres_url(credential.username, credential.password, "127.0.0.1", where[0], DATABASE, where[1])
    return psycopg.connect(url, prepare_threshold=None, connect_timeout=5, autocommit=True)


def refused(pg: LocalPostgres, credential: Credential) -> bool:
    try:
        login(pg, credential).close()
    except psycopg.OperationalError:
        return True
    return False


@pytest.fixture
def stack():
    """A bootstrapped database, its secrets as the program makes them, nothing rotated yet."""
    with LocalPostgres(SETTINGS) as pg:
        rds_like(pg)
        assert run_bootstrap(pg, roles_for("product_template")).returncode == 0
        pg.sql("SET ROLE odoo; CREATE TABLE product_template (id int PRIMARY KEY, name text)", db=DATABASE)
        with LocalSecretsManager(pg, roles_for("product_template")) as secrets:
            yield pg, secrets


def test_before_the_first_rotation_no_application_role_can_log_in(stack):
    """The program writes no password: the roles have none, their secrets hold none."""
    pg, secrets = stack
    assert pg.sql(
        "SELECT count(*) FROM pg_authid WHERE rolname ~ '^(odoo|gateway_ro|pgbouncer_auth)' AND rolpassword IS NOT NULL"
    ) == [["0"]]
    for key in ("owner", "reader", "auth_user"):
        with pytest.raises(KeyError):
            secrets.current(key)


def test_each_rotation_alternates_and_the_previous_credential_lasts_one_more(stack):
    pg, secrets = stack
    first = secrets.rotate("owner")
    second = secrets.rotate("owner")
    assert (first.username, second.username) == ("odoo_clone", "odoo")
    assert not refused(pg, first) and not refused(pg, second)
    third = secrets.rotate("owner")
    assert third.username == "odoo_clone" and third.password != first.password
    assert refused(pg, first) and not refused(pg, second) and not refused(pg, third)


def test_either_of_the_pair_owns_what_it_creates_as_the_role(stack):
    """Odoo's migrations run as whichever user is current: the tables must stay `odoo`'s."""
    pg, secrets = stack
    with login(pg, secrets.rotate("owner")) as conn:
        conn.execute("CREATE TABLE sale_order (id int)")
    with login(pg, secrets.rotate("owner")) as conn:
        conn.execute("ALTER TABLE sale_order ADD COLUMN note text")
    assert pg.sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'sale_order'", db=DATABASE) == [
        ["odoo"]
    ]


def test_the_master_rotates_itself_and_the_first_password_dies(stack):
    """Single user: the program's first master password is dead after the first rotation, and
    the roles' rotations read the new one from the master secret."""
    pg, secrets = stack
    master = secrets.rotate("master")
    assert master.username == MASTER and master.password != MASTER_PASSWORD
    assert refused(pg, Credential(MASTER, MASTER_PASSWORD)) and not refused(pg, master)
    assert not refused(pg, secrets.rotate("reader"))
    assert run_bootstrap(pg, roles_for("product_template"), master.password).returncode == 0


def test_no_plain_password_reaches_the_server(stack):
    """The function sets verifiers: a statement log shows a SCRAM secret, never the password."""
    pg, secrets = stack
    pg.sql("ALTER SYSTEM SET log_statement = 'all'")
    pg.sql("SELECT pg_reload_conf()")
    credential = secrets.rotate("reader")
    log = pg.log.read_text()
    assert "ALTER ROLE gateway_ro_clone PASSWORD 'SCRAM-SHA-256$4096:" in log
    assert credential.password not in log


def test_a_rotation_under_load_through_pgbouncer_loses_no_transaction(stack):
    """Clients keep the credential they started with (a pod reads its files at start) while
    the owner's and the auth_user's secrets rotate; new clients take the new one. Every
    transaction of both commits, through the real PgBouncer's auth_query."""
    pg, secrets = stack
    auth, owner = secrets.rotate("auth_user"), secrets.rotate("owner")
    pg.sql("SET ROLE odoo; CREATE TABLE ledger (client int, n int)", db=DATABASE)
    settings = IniSettings(POOL, DATABASE, ["db"], 5432, AUTH_QUERY, "pgbouncer_stats", ServerTimeouts(300, 3600, 30))
    hba = render_hba(DATABASE, ("pgbouncer_auth", "pgbouncer_auth_clone"), "pgbouncer_stats")
    committed, stop = [0, 0], threading.Event()
    errors: list[Exception] = []

    def client(index: int, credential: Credential) -> None:
        try:
            with login(pg, credential, bouncer) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        conn.execute("INSERT INTO ledger VALUES (%s, 1)", (index,))
                    committed[index % 2] += 1
        except Exception as exc:  # every failure counts, whatever its kind
            errors.append(exc)

    with LocalPgBouncer(settings, hba, auth.username, auth.password, "127.0.0.1", pg.port, rds_root(pg)) as bouncer:
        old = [threading.Thread(target=client, args=(i * 2, owner)) for i in range(4)]
        for thread in old:
            thread.start()
        time.sleep(0.5)
        rotated = (secrets.rotate("auth_user"), secrets.rotate("owner"))
        new = [threading.Thread(target=client, args=(i * 2 + 1, rotated[1])) for i in range(4)]
        for thread in new:
            thread.start()
        time.sleep(1.0)
        stop.set()
        for thread in old + new:
            thread.join(timeout=10)
    rows = int(pg.sql("SELECT count(*) FROM ledger", db=DATABASE)[0][0])
    print(
        f"\ncommitted during the rotation: {committed[0]} by old clients, {committed[1]} by new; errors {len(errors)}"
    )
    assert errors == [] and committed[0] > 0 and committed[1] > 0
    assert rows == sum(committed)


def test_a_retried_step_changes_nothing(stack):
    """Secrets Manager retries a step that timed out: createSecret keeps its pending version,
    setSecret finds the password already set."""
    pg, secrets = stack
    arn, token = secrets.arns["reader"], "retry-token-0000000000000000000000000"
    rotate.create(secrets.client, arn, token)
    pending = secrets.client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    rotate.create(secrets.client, arn, token)
    again = secrets.client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    assert again["SecretString"] == pending["SecretString"]
    event = {"SecretId": arn, "ClientRequestToken": token}
    for _ in range(2):
        rotate.handler(event | {"Step": "setSecret"}, None, secrets.client)
    verifier = pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'gateway_ro_clone'")
    rotate.handler(event | {"Step": "setSecret"}, None, secrets.client)
    assert pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'gateway_ro_clone'") == verifier


def test_the_handler_refuses_a_secret_without_rotation_or_an_unknown_version(stack):
    _, secrets = stack
    plain = secrets.client.create_secret(Name="not-rotated", SecretString="{}")["ARN"]
    with pytest.raises(rotate.RotationError, match="rotation is not enabled"):
        rotate.handler({"SecretId": plain, "ClientRequestToken": "t", "Step": "setSecret"}, None, secrets.client)
    with pytest.raises(rotate.RotationError, match="no version"):
        rotate.handler(
            {"SecretId": secrets.arns["owner"], "ClientRequestToken": "unknown", "Step": "setSecret"},
            None,
            secrets.client,
        )
