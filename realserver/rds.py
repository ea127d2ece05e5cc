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
from pathlib import Path

from components.apps.database_bootstrap import BOOTSTRAP, MIGRATION, JobKind, bootstrap_environment
from components.apps.database_bootstrap_sql import DatabaseRoles, render_bootstrap_sql
from components.data.performance_indexes import render_migration
from components.data.rds_trust import BUNDLE_KEY
from components.k8s.pod_spec import RUN_AS_UID
from realserver.postgres import LocalPostgres, pg_bin
from realserver.tls import LocalAuthority

MASTER = "sdadmin"
DATABASE = "odoo"
#: The master's first password: a `:` and a `\\` prove the Job's passfile escaping (the program
#: draws alphanumerics; the rotation function too).
MASTER_PASSWORD = "first:master\\password-0123456789"


def rds_root(pg: LocalPostgres) -> Path:
    """The root the server's certificate chains to: what the region's bundle is to RDS."""
    return pg.dir / "tls" / "ca.crt"


def rds_like(pg: LocalPostgres) -> None:
    """The master and its database; TCP logins need TLS (`rds.force_ssl`) and a password
    (SCRAM), as on RDS."""
    tls = LocalAuthority(rds_root(pg).parent).issue(owner="postgres")
    for name, value in tls.postgres_settings().items():
        pg.sql(f"ALTER SYSTEM SET {name} = '{value}'")
    (pg.data / "pg_hba.conf").write_text("local all postgres trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
    pg.sql("SELECT pg_reload_conf()")
    pg.sql(f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'")
    pg.sql(f"CREATE DATABASE {DATABASE} OWNER {MASTER}")
    pg.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=DATABASE)


def roles_for(*reader_tables: str) -> DatabaseRoles:
    return DatabaseRoles(DATABASE, MASTER, reader_tables=reader_tables)


def run_bootstrap(
    pg: LocalPostgres, roles: DatabaseRoles, master_password: str = MASTER_PASSWORD, root: Path | None = None
) -> subprocess.CompletedProcess:
    """The bootstrap Job's command and environment, with its CSI-mounted password file and
    ConfigMap as local files (the CSI provider writes the field as is, without a newline).
    `root`: the bundle in the ConfigMap, the server's own root unless a test says otherwise."""
    return _run_job(pg, roles, BOOTSTRAP, master_password, root)


def run_migration(
    pg: LocalPostgres, roles: DatabaseRoles, master_password: str = MASTER_PASSWORD
) -> subprocess.CompletedProcess:
    """The migration Job's command (the seed's indexes), as the bootstrap's."""
    return _run_job(pg, roles, MIGRATION, master_password)


def _run_job(
    pg: LocalPostgres, roles: DatabaseRoles, kind: JobKind, master_password: str, root: Path | None = None
) -> subprocess.CompletedProcess:
    work = Path(tempfile.mkdtemp(prefix="sd-bootstrap-"))
    master_dir, sql_dir, private_dir = (work / name for name in ("master", "sql", "private"))
    try:
        for directory in (master_dir, sql_dir, private_dir):
            directory.mkdir()
        (master_dir / "password").write_text(master_password)
        (sql_dir / "bootstrap.sql").write_text(render_bootstrap_sql(roles))
        (sql_dir / "migrate.sql").write_text(render_migration())
        shutil.copy(root or rds_root(pg), sql_dir / BUNDLE_KEY)
        as_job_user = []
        if os.geteuid() == 0:  # as the Job: the platform's UID, which has no passwd entry
            for path in (work, *work.rglob("*")):
                os.chown(path, RUN_AS_UID, RUN_AS_UID)
            as_job_user = ["setpriv", f"--reuid={RUN_AS_UID}", f"--regid={RUN_AS_UID}", "--clear-groups"]
        env = {
            "PATH": f"{Path(pg_bin('psql')).parent}:/usr/bin:/bin",
            **bootstrap_environment(roles, "127.0.0.1", pg.port, str(private_dir), str(sql_dir / BUNDLE_KEY)),
        }
        command = kind.command(str(master_dir), str(sql_dir), str(private_dir))
        return subprocess.run(
            [*as_job_user, "env", "-i", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
