"""Which of a release's modules to install and which to upgrade, run in the release Job's pod
with the Odoo image's Python (psycopg2) before `odoo --stop-after-init`.

`--init` reloads a module's data in init mode, overwriting its `noupdate` records (mail
templates, sequences, the admin user of `base`), so only modules not installed yet are
initialised; the installed ones are upgraded. An empty database (no `ir_module_module` yet)
installs them all. Prints the two Odoo options, nothing else.

Standard library and a DB-API connection only: the tests run `split` on real PostgreSQL.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Sequence

#: States Odoo leaves an installed module in, also after an interrupted upgrade.
INSTALLED = ("installed", "to upgrade", "to remove")


def split(cursor, modules: Sequence[str]) -> tuple[list[str], list[str]]:
    """(to install, to upgrade), in the given order."""
    cursor.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return list(modules), []
    cursor.execute(
        "SELECT name FROM ir_module_module WHERE name = ANY(%s) AND state = ANY(%s)", (list(modules), list(INSTALLED))
    )
    installed = {row[0] for row in cursor.fetchall()}
    return [m for m in modules if m not in installed], [m for m in modules if m in installed]


def options(install: Sequence[str], update: Sequence[str]) -> str:
    flags = [f"--init={','.join(install)}" if install else "", f"--update={','.join(update)}" if update else ""]
    return " ".join(flag for flag in flags if flag)


def main() -> None:
    """odoo.conf (rendered with the owner role), the pool in $DB_HOST, the modules in $MODULES."""
    import psycopg2  # the Odoo image's driver

    conf = configparser.ConfigParser(interpolation=None)
    conf.read(sys.argv[1])
    odoo = conf["options"]
    login = {name: odoo[f"db_{name}"] for name in ("user", "password")}  # the owner role, as rendered
    connection = psycopg2.connect(
        host=os.environ["DB_HOST"],
        port=odoo.get("db_port", "5432"),
        dbname=odoo["db_name"],
        sslmode=odoo.get("db_sslmode", "require"),
        **login,
    )
    with connection, connection.cursor() as cursor:
        print(options(*split(cursor, os.environ["MODULES"].split(","))))


if __name__ == "__main__":
    main()
