"""PgBouncer configuration and connection budget, as pure functions of typed settings.

The budget is computed, not guessed: every server connection that every PgBouncer pod of every
pool can open is counted against the database it lands on, and must fit in a share of that
database's `max_connections` (the rest stays free for admins, replication and monitoring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from components.data.rds_trust import BUNDLE_KEY

#: Share of a database's max_connections PgBouncer may take.
BUDGET_SHARE = 0.85
LISTEN_PORT = 6432

#: The database name Odoo asks for its database list (at start, and for a request whose session
#: names no database yet), and the server connections it may hold: one for the client, one for
#: PgBouncer's own auth_query lookup, which runs in the database the client asked for.
CATALOG_ALIAS = "postgres"
ALIAS_SERVERS = 2


@dataclass(frozen=True)
class PoolRole:
    """One PgBouncer Deployment: a pooling mode in front of one kind of database target."""

    #: rw | ro | session (ROLE_MODES).
    name: str
    #: transaction | session.
    pool_mode: str
    #: ro: the read replicas, round-robin; else the primary.
    targets_replicas: bool
    #: PgBouncer pods of this role (fixed: the budget counts them).
    replicas: int
    #: Server connections per (database, user) per pod, plus the reserve for bursts.
    pool_size: int
    reserve_pool_size: int
    #: Client connections per pod.
    max_client_conn: int


#: Role -> (pool mode, targets the replicas). Odoo's bus keeps LISTEN on one server connection,
#: which only session pooling guarantees.
ROLE_MODES = {"rw": ("transaction", False), "ro": ("transaction", True), "session": ("session", False)}


@dataclass(frozen=True)
class ServerTimeouts:
    #: Close server connections idle this long, and any older than server_lifetime_s.
    server_idle_timeout_s: int
    server_lifetime_s: int
    #: A client waiting this long for a server connection gets an error.
    query_wait_timeout_s: int
    #: Connecting to RDS takes no longer than this.
    server_connect_timeout_s: int = 5
    #: 0: idle clients stay (the apps' pools manage their own).
    client_idle_timeout_s: int = 0


@dataclass(frozen=True)
class ClientDemand:
    """Client connections the applications can open at their HPA maximum."""

    odoo_max_pods: int
    odoo_workers_per_pod: int
    odoo_db_maxconn: int
    longpolling_max_pods: int
    gateway_max_pods: int
    gateway_pool_size: int

    def for_role(self, role: str) -> int:
        # Odoo's HTTP workers: each worker's pool holds up to db_maxconn connections.
        odoo_workers = self.odoo_max_pods * self.odoo_workers_per_pod * self.odoo_db_maxconn
        if role == "rw":
            return odoo_workers
        if role == "ro":
            # Odoo's read-only cursors, and the gateway, which only reads (as gateway_ro).
            return odoo_workers + self.gateway_max_pods * self.gateway_pool_size
        # The longpolling (bus) worker is one gevent process; its pool is db_maxconn.
        return self.longpolling_max_pods * self.odoo_db_maxconn


@dataclass(frozen=True)
class Target:
    name: str  # primary | replica-1 ...
    max_connections: int


def _over(used: dict[str, int], limits: dict[str, int]) -> list[tuple[str, int, int]]:
    """(key, used, limit) wherever `used` exceeds its limit."""
    return [(key, amount, limits[key]) for key, amount in used.items() if amount > limits[key]]


@dataclass(frozen=True)
class Budget:
    """Worst-case server connections per database target, and the limit they must fit in."""

    per_target: dict[str, int]
    limit_per_target: dict[str, int]
    clients_per_role: dict[str, int]
    client_capacity_per_role: dict[str, int]

    @property
    def problems(self) -> list[str]:
        """Server connections over a target's share, then client connections over a pool's."""
        return [
            *(
                f"{used} server connections can land on {target}, over {int(BUDGET_SHARE * 100)} % of its "
                f"max_connections ({limit}); lower pool sizes by {used - limit} connections in total or raise "
                f"database.maxConnections to at least {math.ceil(used / BUDGET_SHARE)}"
                for target, used, limit in _over(self.per_target, self.limit_per_target)
            ),
            *(
                f"pool {role}: the applications can open {clients} client connections at their HPA maximum, "
                f"but its pods accept {capacity} in total; raise maxClientConn by {clients - capacity} "
                f"(spread over the pods) or add pods"
                for role, clients, capacity in _over(self.clients_per_role, self.client_capacity_per_role)
            ),
        ]


def connection_budget(
    roles: Sequence[PoolRole], primary: Target, replicas: Sequence[Target], demand: ClientDemand
) -> Budget:
    """A replica pool spreads over the replicas, but on a replica failure all of it can land on
    one survivor, so each replica is charged the whole ro pool. Without replicas, ro reads go
    to the primary."""
    per_target = {primary.name: 0, **{r.name: 0 for r in replicas}}
    for role in roles:
        servers = role.replicas * (role.pool_size + role.reserve_pool_size + ALIAS_SERVERS)
        if role.targets_replicas and replicas:
            for replica in replicas:
                per_target[replica.name] += servers
        else:
            per_target[primary.name] += servers
    limits = {t.name: int(t.max_connections * BUDGET_SHARE) for t in [primary, *replicas]}
    return Budget(
        per_target=per_target,
        limit_per_target=limits,
        clients_per_role={role.name: demand.for_role(role.name) for role in roles},
        client_capacity_per_role={role.name: role.replicas * role.max_client_conn for role in roles},
    )


#: A private tmpfs the pod's init container fills from the auth_user's secret files.
AUTH_DIR = "/run/pgbouncer"
#: How the applications connect to PgBouncer: encrypted, unverified (the pod's certificate is
#: self-signed at start; the NetworkPolicies decide who reaches it).
CLIENT_SSLMODE = "require"
#: The ConfigMap of the pool: ini, hba and the RDS CA bundle.
CONFIG_DIR = "/etc/pgbouncer"


@dataclass(frozen=True)
class IniSettings:
    role: PoolRole
    database: str
    hosts: Sequence[str]
    port: int
    auth_query: str
    stats_user: str
    timeouts: ServerTimeouts
    #: RDS's certificate must chain to its region's root and name the host PgBouncer dialled.
    server_tls_sslmode: str = "verify-full"
    server_tls_ca_file: str = f"{CONFIG_DIR}/{BUNDLE_KEY}"
    listen_port: int = LISTEN_PORT
    #: Written at pod start (render_auth_command): the auth_user's name and its password.
    auth_include: str = f"{AUTH_DIR}/auth_user.ini"
    auth_file: str = f"{AUTH_DIR}/userlist.txt"
    auth_hba_file: str = f"{CONFIG_DIR}/pg_hba.conf"
    #: The pod's own key and self-signed certificate for its clients' TLS, made at start.
    client_tls_key_file: str = f"{AUTH_DIR}/client-tls.key"
    client_tls_cert_file: str = f"{AUTH_DIR}/client-tls.crt"


def render_ini(settings: IniSettings) -> str:
    """pgbouncer.ini. Holds no secret and no role name: the auth_user alternates between a role
    and its clone with each rotation, so its name comes from a file the pod writes at start
    (`%include`), beside the auth file with its password. Every application role is looked up
    with auth_query as a SCRAM verifier (SCRAM pass-through).

    Only settings PgBouncer 1.18 understands (Debian's, which the tests run it on): several
    hosts in one entry are tried round-robin, so the ro pool spreads over the replicas.
    Transaction pooling before 1.21 cannot carry protocol-level prepared statements: Odoo's
    psycopg2 uses none; the gateway must run psycopg with prepare_threshold=None.
    """
    role, t = settings.role, settings.timeouts
    host = ",".join(settings.hosts)
    target = f"host={host} port={settings.port} dbname={settings.database}"
    databases = {
        settings.database: f"{target} pool_size={role.pool_size} reserve_pool={role.reserve_pool_size}",
        # Odoo's server starts by asking `postgres` whether its database exists
        # (odoo.service.db._create_empty_database) and dies if it cannot connect, and lists its
        # databases there for a request whose session names none: the name leads to the
        # application's database, where the same questions find it.
        CATALOG_ALIAS: f"{target} pool_size={ALIAS_SERVERS} reserve_pool=0 max_db_connections={ALIAS_SERVERS}",
    }
    pgbouncer = {
        "listen_addr": "0.0.0.0",
        "listen_port": settings.listen_port,
        "unix_socket_dir": "",
        "auth_type": "hba",
        "auth_hba_file": settings.auth_hba_file,
        "auth_file": settings.auth_file,
        "auth_query": settings.auth_query,
        "admin_users": "",
        "stats_users": settings.stats_user,
        "pool_mode": role.pool_mode,
        "max_client_conn": role.max_client_conn,
        "default_pool_size": role.pool_size,
        "reserve_pool_size": role.reserve_pool_size,
        "reserve_pool_timeout": 3,
        "max_db_connections": role.pool_size + role.reserve_pool_size,
        "server_tls_sslmode": settings.server_tls_sslmode,
        "server_tls_ca_file": settings.server_tls_ca_file,
        # Clients may ask for TLS; the hba file's hostssl lines make the applications ask.
        "client_tls_sslmode": "allow",
        "client_tls_key_file": settings.client_tls_key_file,
        "client_tls_cert_file": settings.client_tls_cert_file,
        "server_idle_timeout": t.server_idle_timeout_s,
        "server_lifetime": t.server_lifetime_s,
        "query_wait_timeout": t.query_wait_timeout_s,
        "server_connect_timeout": t.server_connect_timeout_s,
        "client_idle_timeout": t.client_idle_timeout_s,
        "server_reset_query": "DISCARD ALL" if role.pool_mode == "session" else "",
        "ignore_startup_parameters": "extra_float_digits,options",
        "log_connections": 0,
        "log_disconnections": 0,
        "stats_period": 60,
    }
    lines = ["; rendered by components/pgbouncer_config.py; do not edit", "[databases]"]
    lines += [f"{name} = {value}" for name, value in databases.items()]
    lines += ["", "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in pgbouncer.items()]
    lines += [f"%include {settings.auth_include}"]
    return "\n".join(lines) + "\n"


def render_hba(database: str, auth_users: Sequence[str], stats_user: str) -> str:
    """Who may log in how, first match wins. The exporter reaches the admin console from inside
    the pod only, so it needs no password (and none sits in its environment); the application
    roles prove SCRAM over TLS only (`hostssl`: a client without TLS matches no line and is
    refused); no client may log in as the auth_user (either of its pair)."""
    return (
        f"host pgbouncer {stats_user} 127.0.0.1/32 trust\n"
        "host pgbouncer all 0.0.0.0/0 reject\n"
        # Only PgBouncer itself logs in as the auth_user (its lookups are not client logins).
        + "".join(f"host all {user} 0.0.0.0/0 reject\n" for user in auth_users)
        + f"hostssl {database} all 0.0.0.0/0 scram-sha-256\n"
        + f"hostssl {CATALOG_ALIAS} all 0.0.0.0/0 scram-sha-256\n"
    )


def render_auth_command(credentials_dir: str, settings: IniSettings) -> str:
    """The init container's shell: the auth_user's current name and password (files the CSI
    driver mounts) into the include and the auth file, on the pod's private tmpfs. The stats
    user is listed without a password: PgBouncer knows only listed users, and the hba file
    trusts it on loopback and rejects it anywhere else, so no password of it is ever checked.
    The rotation draws alphanumeric passwords; a quote would break the file, so it stops.
    Then the pod's TLS key for its clients: new at every start, never leaving the tmpfs, so no
    secret of it exists anywhere else (clients encrypt with `require`; they do not verify it)."""
    return (
        f"umask 077 && user=$(cat {credentials_dir}/username) && password=$(cat {credentials_dir}/password) && "
        """case "$user$password" in *'"'*) echo 'quote in the auth_user secret' >&2; exit 1;; esac && """
        f"printf 'auth_user = %s\\n' \"$user\" > {settings.auth_include} && "
        f"""printf '"%s" "%s"\\n"{settings.stats_user}" ""\\n' "$user" "$password" > {settings.auth_file} && """
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=pgbouncer "
        f"-keyout {settings.client_tls_key_file} -out {settings.client_tls_cert_file} 2>/dev/null"
    )
