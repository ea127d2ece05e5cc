"""The seed's performance indexes on a real PostgreSQL with an Odoo-shaped schema: the migration
runs in psql's autocommit (CONCURRENTLY refuses a transaction), skips the tables of modules not
yet installed with a line saying so, converges on a second run, replaces an INVALID leftover,
and the seed's two broken statements fail as written while their corrections build."""

from __future__ import annotations

import subprocess

import pytest

from components.data.performance_indexes import INDEXES, Index, render_migration
from realserver.postgres import LocalPostgres, pg_bin

pytestmark = pytest.mark.real_server

#: The tables of Odoo's core modules the seed indexes, with the columns its indexes name
#: (sale, product, stock, contacts); the seed's own modules (subscription, loyalty, farm) are
#: not installed.
ODOO_SCHEMA = """
CREATE TABLE res_partner (id serial PRIMARY KEY, email varchar, customer_rank int, active bool);
CREATE TABLE product_template (id serial PRIMARY KEY, active bool, sale_ok bool, categ_id int);
CREATE TABLE product_template_attribute_line (id serial PRIMARY KEY, product_tmpl_id int, attribute_id int);
CREATE TABLE sale_order (id serial PRIMARY KEY, partner_id int, date_order timestamp, state varchar,
                         amount_total numeric);
CREATE TABLE sale_order_line (id serial PRIMARY KEY, order_id int, product_id int, create_date timestamp);
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, location_id int, quantity numeric);
CREATE TABLE stock_move (id serial PRIMARY KEY, product_id int, state varchar, date timestamp);
INSERT INTO sale_order (partner_id, date_order, state, amount_total)
  SELECT g % 50, now() - (g || ' hours')::interval, 'sale', g FROM generate_series(1, 2000) g;
"""
SEED_MODULE_TABLES = {
    "customer_subscription",
    "loyalty_member",
    "loyalty_transaction",
    "farm_animal",
    "farm_milk_daily",
}


def migrate(pg: LocalPostgres, script: str) -> subprocess.CompletedProcess:
    """As the Job runs it: psql, autocommit (no --single-transaction), the script on stdin."""
    return subprocess.run(
        [pg_bin("psql"), pg.dsn(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )


def indexes(pg: LocalPostgres) -> dict[str, bool]:
    return dict(
        (name, valid == "t")
        for name, valid in pg.sql(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname LIKE 'idx\\_%'"
        )
    )


@pytest.fixture
def odoo():
    with LocalPostgres({}) as pg:
        pg.sql(ODOO_SCHEMA)
        yield pg


def test_the_migration_builds_what_is_installed_and_says_what_it_skips(odoo):
    run = migrate(odoo, render_migration())
    assert run.returncode == 0, run.stderr
    installed = {i.name for i in INDEXES if i.table not in SEED_MODULE_TABLES}
    assert indexes(odoo) == dict.fromkeys(installed, True)
    skipped = {line for line in run.stdout.splitlines() if line.startswith("skipped ")}
    assert skipped == {
        f"skipped {i.name}: table {i.table} is not installed" for i in INDEXES if i.table in SEED_MODULE_TABLES
    }
    # A second run changes nothing and fails nothing.
    again = migrate(odoo, render_migration())
    assert again.returncode == 0 and indexes(odoo) == dict.fromkeys(installed, True)


def test_an_invalid_leftover_is_rebuilt(odoo):
    """A concurrent build that failed half-way leaves an INVALID index of the same name (made
    here by marking one invalid, as the superuser can)."""
    odoo.sql("CREATE INDEX idx_res_partner_email_lower ON res_partner (email)")
    odoo.sql("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_res_partner_email_lower'::regclass")
    assert indexes(odoo)["idx_res_partner_email_lower"] is False
    run = migrate(odoo, render_migration())
    assert run.returncode == 0, run.stderr
    assert indexes(odoo)["idx_res_partner_email_lower"] is True
    [[definition]] = odoo.sql("SELECT pg_get_indexdef('idx_res_partner_email_lower'::regclass)")
    assert "lower((email)::text)" in definition  # the migration's, not the leftover's


def test_inside_a_transaction_the_build_is_refused(odoo):
    """Why the Job must not run it with --single-transaction."""
    first = INDEXES[0]
    run = migrate(odoo, f"BEGIN;\n{first.statement()};\n")
    assert run.returncode != 0 and "cannot run inside a transaction block" in run.stderr


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sale_order_today ON sale_order (id, partner_id, amount_total) "
            "WHERE date_order >= CURRENT_DATE",
            "functions in index predicate must be marked IMMUTABLE",
        ),
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_product_attribute_gin ON product_template "
            "USING GIN (attribute_line_ids)",
            'column "attribute_line_ids" does not exist',
        ),
    ],
    ids=["non-immutable-predicate", "one2many-column"],
)
def test_the_seeds_two_broken_statements_fail_as_written(odoo, statement, error):
    run = migrate(odoo, statement + ";\n")
    assert run.returncode != 0 and error in run.stderr


def test_a_non_immutable_predicate_is_refused_before_it_reaches_a_database():
    with pytest.raises(ValueError, match="IMMUTABLE"):
        Index("idx_x", "sale_order", "(id) WHERE date_order >= CURRENT_DATE")


def test_the_migration_job_builds_them_as_the_rds_master_on_odoos_tables():
    """The Job's exact command, as RDS's master (no superuser, a member of `odoo` by the
    bootstrap): it may index the tables Odoo owns, and the indexes belong to odoo."""
    from realserver.rds import DATABASE, rds_like, roles_for, run_bootstrap, run_migration

    with LocalPostgres({}) as pg:
        rds_like(pg)
        assert run_bootstrap(pg, roles_for()).returncode == 0
        pg.sql("SET ROLE odoo;" + ODOO_SCHEMA, db=DATABASE)
        run = run_migration(pg, roles_for())
        assert run.returncode == 0, run.stderr
        built = pg.sql(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.relkind = 'i' "
            "AND c.relname LIKE 'idx\\_%' ORDER BY 1",
            db=DATABASE,
        )
        assert len(built) == 12 and {owner for _, owner in built} == {"odoo"}
