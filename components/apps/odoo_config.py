"""odoo.conf as a pure function of typed settings. Holds no secret and no database user: the
admin password, and the database user and password (which alternate with each rotation), are
appended at pod start from mounted files, into a file only the Odoo user reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.apps.pgbouncer_config import CLIENT_SSLMODE


@dataclass(frozen=True)
class OdooSettings:
    db_name: str
    db_host: str  # pgbouncer-rw (transaction pooling)
    db_replica_host: str  # pgbouncer-ro: Odoo 18 sends read-only cursors there
    db_port: int
    db_maxconn: int
    workers: int
    max_cron_threads: int
    limit_memory_soft_mb: int
    limit_memory_hard_mb: int
    limit_time_cpu_s: int
    limit_time_real_s: int
    gevent_port: int = 8072
    http_port: int = 8069
    data_dir: str = "/var/lib/odoo"
    #: session_redis stores sessions in Redis: any pod can serve any user.
    server_wide_modules: Sequence[str] = ("base", "web", "session_redis")


def render_odoo_conf(s: OdooSettings) -> str:
    mb = 1024 * 1024
    options = {
        "db_host": s.db_host,
        "db_port": s.db_port,
        "db_replica_host": s.db_replica_host,
        "db_replica_port": s.db_port,
        "db_name": s.db_name,
        "dbfilter": f"^{s.db_name}$",
        "db_maxconn": s.db_maxconn,
        # To PgBouncer: encrypted (its hba admits nothing else); PgBouncer verifies RDS.
        "db_sslmode": CLIENT_SSLMODE,
        "list_db": "False",
        "proxy_mode": "True",
        "workers": s.workers,
        "max_cron_threads": s.max_cron_threads,
        "limit_memory_soft": s.limit_memory_soft_mb * mb,
        "limit_memory_hard": s.limit_memory_hard_mb * mb,
        "limit_time_cpu": s.limit_time_cpu_s,
        "limit_time_real": s.limit_time_real_s,
        "limit_request": 65536,
        "http_port": s.http_port,
        "gevent_port": s.gevent_port,
        "data_dir": s.data_dir,
        "server_wide_modules": ",".join(s.server_wide_modules),
        "without_demo": "all",
        "log_level": "info",
        "logfile": "",
    }
    return "[options]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())


#: Where each pod renders its odoo.conf (a private tmpfs).
CONF = "/run/odoo/odoo.conf"


def config_renderer(image: str, conf_key: str, secrets_mounts: list[dict]) -> dict:
    """Init container: odoo.conf from the ConfigMap (volume `config`), plus the database's
    current user and password, into a private tmpfs. admin_passwd (the database manager's, which `list_db =
    False` already closes) is drawn here, per pod, and never leaves it: no one needs it."""
    database = secrets_mounts[-1]["mountPath"]
    admin = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')"
    command = (
        f"umask 077 && {{ cat /etc/odoo/{conf_key} && "
        f"printf 'admin_passwd = %s\\ndb_user = %s\\ndb_password = %s\\n' \"{admin}\" "
        f'"$(cat {database}/db-username)" "$(cat {database}/db-password)"; }} > {CONF}'
    )
    return {
        "name": "render-config",
        "image": image,
        "command": ["/bin/sh", "-c", command],
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/odoo", "readOnly": True},
            *secrets_mounts,
            {"name": "run", "mountPath": "/run/odoo"},
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
    }
