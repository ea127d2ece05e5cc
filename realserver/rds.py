"""A local PostgreSQL shaped like RDS for the bootstrap: a master user that is *not* a
superuser, and the database the instance was created with, owned by it.

On RDS the master is a member of `rds_superuser`: CREATEROLE and CREATEDB, may create
pg_stat_statements, may not read `pg_authid`/`pg_shadow`. A stock server has no
rds_superuser, so the master here gets CREATEROLE and CREATEDB and the superuser creates the
extension beforehand (on RDS the script's `CREATE EXTENSION IF NOT EXISTS` creates it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components.apps.database_bootstrap import bootstrap_command, bootstrap_environment, pgpass_line
from components.apps.database_bootstrap_sql import DatabaseRoles, render_bootstrap_sql, render_verifiers
from components.data.postgres import PASSWORD_SPECIALS
from components.data.scram import scram_verifier
from components.k8s.pod_spec import RUN_AS_UID
from realserver.postgres import LocalPostgres, pg_bin
from synth.mock_outputs import random_password

MASTER = "sdadmin"
DATABASE = "odoo"
#: A master password as RDS would get it: every special character the program allows in it.
MASTER_PASSWORD = random_password("pg-master", {"length": 40, "overrideSpecial": PASSWORD_SPECIALS})


@dataclass(frozen=True)
class Credentials:
    """The role passwords as the program generates them (40 alphanumerics), and their verifiers."""

    passwords: dict[str, str]
    verifiers: dict[str, str]

    @classmethod
    def generate(cls, version: str = "1") -> Credentials:
        passwords = {
            key: random_password(f"db-{key}-{version}", {"length": 40, "special": False})
            for key in ("owner", "reader", "auth_user")
        }
        verifiers = {key: scram_verifier(password, os.urandom(16)) for key, password in passwords.items()}
        return cls(passwords, verifiers)


def rds_like(pg: LocalPostgres) -> None:
    """The master and its database; TCP logins need a password (SCRAM), as on RDS."""
    (pg.data / "pg_hba.conf").write_text("local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    pg.sql("SELECT pg_reload_conf()")
    pg.sql(f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'")
    pg.sql(f"CREATE DATABASE {DATABASE} OWNER {MASTER}")
    pg.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=DATABASE)


def roles_for(*reader_tables: str) -> DatabaseRoles:
    return DatabaseRoles(DATABASE, MASTER, reader_tables=reader_tables)


def run_bootstrap(pg: LocalPostgres, roles: DatabaseRoles, credentials: Credentials) -> subprocess.CompletedProcess:
    """The Job's command and environment, with its Secret and ConfigMap as local files."""
    work = Path(tempfile.mkdtemp(prefix="sd-bootstrap-"))
    secret_dir, sql_dir, private_dir = (work / name for name in ("secret", "sql", "private"))
    try:
        for directory in (secret_dir, sql_dir, private_dir):
            directory.mkdir()
        (secret_dir / "pgpass").write_text(pgpass_line("127.0.0.1", pg.port, DATABASE, MASTER, MASTER_PASSWORD))
        (secret_dir / "verifiers.psql").write_text(render_verifiers(credentials.verifiers))
        (sql_dir / "bootstrap.sql").write_text(render_bootstrap_sql(roles))
        as_job_user = []
        if os.geteuid() == 0:  # as the Job: the platform's UID, which has no passwd entry
            for path in (work, *work.rglob("*")):
                os.chown(path, RUN_AS_UID, RUN_AS_UID)
            as_job_user = ["setpriv", f"--reuid={RUN_AS_UID}", f"--regid={RUN_AS_UID}", "--clear-groups"]
        env = {
            "PATH": f"{Path(pg_bin('psql')).parent}:/usr/bin:/bin",
            **bootstrap_environment(roles, "127.0.0.1", pg.port, str(private_dir), "disable"),
        }
        command = bootstrap_command(str(secret_dir), str(sql_dir), str(private_dir))
        return subprocess.run(
            [*as_job_user, "env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
