"""The database bootstrap script: least-privilege roles, the PgBouncer lookup, the extensions.

It runs as the RDS master user, which is *not* a superuser (`rds_superuser` has CREATEROLE and
CREATEDB, and may not read `pg_authid`/`pg_shadow`). So nothing here needs superuser, and the
PgBouncer `auth_query` reads a table of SCRAM verifiers, not `pg_shadow`.

No password appears here, nor in the Job: every application role is a pair of login roles
(`odoo` and `odoo_clone`) created *without* a password, and the rotation function
(components/data/rotation/rotate.py) sets one of each pair at a time, with the lookup's
verifier. The clone is a member of its role and takes it on at login (`SET role`), so whatever
either creates belongs to the role. Every statement converges, so a second run against the same
database changes nothing, and the whole script runs in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from components.data.rotation.secret_values import pair

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: The PgBouncer `auth_query`: returns (user, SCRAM verifier) for the roles it may pool.
AUTH_QUERY = "SELECT uname, phash FROM pgbouncer.user_lookup($1)"


@dataclass(frozen=True)
class DatabaseRoles:
    #: The application database, and the master user the Job connects as.
    database: str
    master_user: str
    #: Odoo: owns the database and its objects; no CREATEROLE, no CREATEDB.
    owner: str = "odoo"
    #: The gateway's read-only role (replicas' path): SELECT on `reader_tables` only.
    reader: str = "gateway_ro"
    reader_tables: Sequence[str] = ()
    #: PgBouncer's auth_user: may only execute the lookup.
    auth_user: str = "pgbouncer_auth"
    #: NOLOGIN owner of the lookup schema, table and SECURITY DEFINER function.
    lookup_owner: str = "pgbouncer_lookup"
    #: Extensions the parameter group preloads (the seed's audit reads pg_stat_statements).
    extensions: Sequence[str] = ("pg_stat_statements",)

    def __post_init__(self) -> None:
        names = [self.database, self.master_user, self.owner, self.reader, self.auth_user, self.lookup_owner]
        bad = [n for n in [*names, *self.reader_tables, *self.extensions] if not IDENTIFIER.match(n)]
        if bad:
            raise ValueError(f"not plain lower-case SQL identifiers: {bad}")
        if len(set(names[1:])) != len(names[1:]):
            raise ValueError(f"role names must differ: {names[1:]}")

    @property
    def pooled_users(self) -> tuple[str, ...]:
        """The login roles PgBouncer authenticates through auth_query (and no other)."""
        return (*pair(self.owner), *pair(self.reader))


def _create_role(role: str, attributes: str) -> str:
    return (
        f"SELECT 'CREATE ROLE {role} {attributes}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_roles WHERE rolname = '{role}')\n\\gexec\n"
    )


def _login_pair(role: str) -> str:
    """The role and its clone, without passwords (the rotation sets them). NOSUPERUSER,
    NOREPLICATION and NOBYPASSRLS are the defaults; only a superuser may even state them."""
    clone = pair(role)[1]
    return (
        "".join(
            _create_role(name, "LOGIN") + f"ALTER ROLE {name} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT;\n"
            for name in (role, clone)
        )
        + f"GRANT {role} TO {clone};\n"
        + f"ALTER ROLE {clone} SET role = '{role}';\n"
    )


def _array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]::text[]"


def render_bootstrap_sql(roles: DatabaseRoles) -> str:
    r = roles
    tables = _array(r.reader_tables)
    sections = [
        "-- Rendered by components/apps/database_bootstrap_sql.py; run by the db-bootstrap Job as the\n"
        "-- master user (not a superuser on RDS), in one transaction. Idempotent.\n"
        "\\set ON_ERROR_STOP on\n",
        "-- Extensions the parameter group preloads.\n"
        + "".join(f"CREATE EXTENSION IF NOT EXISTS {ext};\n" for ext in r.extensions),
        "-- Login role pairs: created once, without passwords; attributes converge each run.\n"
        + _login_pair(r.owner)
        + _login_pair(r.reader)
        + "".join(f"ALTER ROLE {name} SET default_transaction_read_only = on;\n" for name in pair(r.reader))
        + _login_pair(r.auth_user)
        + _create_role(r.lookup_owner, "NOLOGIN"),
        "-- The application owns its database; the master administers it through membership.\n"
        f"GRANT {r.owner}, {r.lookup_owner} TO CURRENT_USER;\n"
        f"ALTER DATABASE {r.database} OWNER TO {r.owner};\n"
        f"REVOKE ALL ON DATABASE {r.database} FROM PUBLIC;\n"
        f"GRANT CONNECT ON DATABASE {r.database} TO {r.reader}, {r.auth_user};\n",
        "-- The reader sees the listed tables that exist, and loses any table no longer listed.\n"
        f"GRANT USAGE ON SCHEMA public TO {r.reader};\n"
        f"SELECT format('GRANT SELECT ON TABLE public.%I TO {r.reader}', t) FROM unnest({tables}) AS t\n"
        "  WHERE to_regclass(format('public.%I', t)) IS NOT NULL\n\\gexec\n"
        "SELECT format('REVOKE ALL ON TABLE %I.%I FROM "
        f"{r.reader}', table_schema, table_name)\n"
        f"  FROM information_schema.table_privileges WHERE grantee = '{r.reader}' AND NOT (\n"
        f"    table_schema = 'public' AND table_name = ANY ({tables}))\n"
        "  GROUP BY table_schema, table_name\n\\gexec\n",
        "-- PgBouncer's lookup: a verifier table only its NOLOGIN owner reads, behind a\n"
        "-- SECURITY DEFINER function the auth_user may execute (pg_shadow is closed on RDS).\n"
        "-- The rotation function writes each verifier with the role's password.\n"
        f"CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION {r.lookup_owner};\n"
        f"SET ROLE {r.lookup_owner};\n"
        "CREATE TABLE IF NOT EXISTS pgbouncer.auth_verifiers (usename name PRIMARY KEY, verifier text NOT NULL);\n"
        "REVOKE ALL ON pgbouncer.auth_verifiers FROM PUBLIC;\n"
        f"DELETE FROM pgbouncer.auth_verifiers WHERE usename <> ALL ({_array(r.pooled_users)});\n"
        "-- SETOF: an unknown user is no row (a plain record would be one row of NULLs).\n"
        "DROP FUNCTION IF EXISTS pgbouncer.user_lookup(text);\n"
        "CREATE FUNCTION pgbouncer.user_lookup(i_username text, OUT uname text, OUT phash text)\n"
        "  RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS\n"
        "  $$ SELECT usename::text, verifier FROM pgbouncer.auth_verifiers WHERE usename = i_username $$;\n"
        "REVOKE ALL ON FUNCTION pgbouncer.user_lookup(text) FROM PUBLIC;\n"
        "REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;\n"
        f"GRANT USAGE ON SCHEMA pgbouncer TO {r.auth_user};\n"
        f"GRANT EXECUTE ON FUNCTION pgbouncer.user_lookup(text) TO {r.auth_user};\n"
        "RESET ROLE;\n",
    ]
    return "\n".join(sections)
