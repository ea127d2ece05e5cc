"""The release plan (components/apps/odoo_release/plan.py) on real PostgreSQL, with an Odoo-shaped
module table: an empty database installs every module, an initialised one installs only what is
missing and upgrades the rest, a module an interrupted upgrade left `to upgrade` is upgraded."""

from __future__ import annotations

import psycopg
import pytest

from components.apps.odoo_release.plan import options, split
from realserver.postgres import LocalPostgres

pytestmark = pytest.mark.real_server

MODULES = ["base", "sale_management", "website_sale", "stock"]


@pytest.fixture(scope="module")
def pg():
    with LocalPostgres({}) as server:
        server.sql("CREATE DATABASE fresh")
        server.sql("CREATE DATABASE odoo")
        server.sql(
            "CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar);"
            "INSERT INTO ir_module_module (name, state) VALUES ('base', 'installed'), ('sale_management', "
            "'to upgrade'), ('website_sale', 'uninstalled'), ('mail', 'installed');",
            db="odoo",
        )
        yield server


def plan_for(pg: LocalPostgres, database: str) -> tuple[list[str], list[str]]:
    with psycopg.connect(pg.dsn(db=database)) as conn, conn.cursor() as cursor:
        return split(cursor, MODULES)


def test_an_empty_database_installs_everything(pg):
    install, update = plan_for(pg, "fresh")
    assert (install, update) == (MODULES, [])
    assert options(install, update) == "--init=base,sale_management,website_sale,stock"


def test_an_initialised_database_installs_only_what_is_missing(pg):
    install, update = plan_for(pg, "odoo")
    assert install == ["website_sale", "stock"] and update == ["base", "sale_management"]
    assert options(install, update) == "--init=website_sale,stock --update=base,sale_management"
