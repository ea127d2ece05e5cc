"""The seed's performance indexes (milestone "Create Optimized Indexes",
`migrations/performance/001_create_indexes.sql`), as a migration that can run on a live database.

`CREATE INDEX CONCURRENTLY` builds without blocking writes, but only outside a transaction, one
statement at a time, and a failed build leaves an INVALID index that `IF NOT EXISTS` would then
keep forever. So the script (for psql, in autocommit) first drops INVALID indexes of these names,
then builds each index with its own statement, and skips, with a line saying so, the indexes of
tables a module not yet installed owns (the seed's subscription, loyalty and farm modules).

Two of the seed's statements cannot run as written, and are corrected here:
- `idx_sale_order_today` filtered on `date_order >= CURRENT_DATE`: an index predicate may only use
  IMMUTABLE functions. A `date_order DESC` index carrying the columns the query reads serves the
  same "today's orders" query.
- `idx_product_attribute_gin` indexed `product_template.attribute_line_ids`, a One2many field
  (no column; its rows live in `product_template_attribute_line`), with GIN as if it were JSONB.
  The lines are indexed by attribute instead, which serves "products with this attribute".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    #: What follows `ON <table>`: method, columns, INCLUDE, predicate.
    definition: str

    def __post_init__(self) -> None:
        if not (IDENTIFIER.match(self.name) and IDENTIFIER.match(self.table)):
            raise ValueError(f"{self.name} on {self.table}: not plain lower-case identifiers")
        if "current_date" in self.definition.lower() or "now()" in self.definition.lower():
            raise ValueError(f"{self.name}: an index predicate may use IMMUTABLE functions only")

    def statement(self) -> str:
        return f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {self.name} ON {self.table} {self.definition}"


INDEXES = (
    Index("idx_sale_order_partner_date", "sale_order", "(partner_id, date_order DESC)"),
    Index("idx_sale_order_state_date", "sale_order", "(state, date_order DESC) WHERE state IN ('sale', 'done')"),
    Index("idx_sale_order_line_order_product", "sale_order_line", "(order_id, product_id)"),
    Index("idx_sale_order_line_product_date", "sale_order_line", "(product_id, create_date DESC)"),
    Index(
        "idx_product_template_active_sale",
        "product_template",
        "(active, sale_ok) WHERE active = true AND sale_ok = true",
    ),
    Index("idx_product_template_categ", "product_template", "(categ_id, active) WHERE active = true"),
    Index(
        "idx_stock_quant_product_location",
        "stock_quant",
        "(product_id, location_id, quantity) WHERE quantity > 0",
    ),
    Index("idx_stock_move_product_state", "stock_move", "(product_id, state, date) WHERE state = 'done'"),
    Index(
        "idx_res_partner_customer_active",
        "res_partner",
        "(customer_rank, active) WHERE customer_rank > 0 AND active = true",
    ),
    Index("idx_res_partner_email_lower", "res_partner", "(LOWER(email)) WHERE email IS NOT NULL"),
    Index(
        "idx_customer_subscription_state",
        "customer_subscription",
        "(state, next_delivery_date) WHERE state = 'active'",
    ),
    Index("idx_loyalty_member_partner", "loyalty_member", "(partner_id, tier_id)"),
    Index("idx_loyalty_transaction_member_date", "loyalty_transaction", "(member_id, transaction_date DESC)"),
    Index("idx_farm_animal_status", "farm_animal", "(status, farm_id) WHERE status = 'active'"),
    Index("idx_farm_milk_daily_date", "farm_milk_daily", "(record_date DESC, animal_id)"),
    # Corrected (see above): today's orders by date, with what the query reads.
    Index("idx_sale_order_today", "sale_order", "(date_order DESC) INCLUDE (partner_id, amount_total)"),
    # Corrected (see above): the attribute lines by attribute.
    Index(
        "idx_product_attribute_line_attribute",
        "product_template_attribute_line",
        "(attribute_id, product_tmpl_id)",
    ),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _analyze(table: str) -> str:
    """ANALYZE the table if it exists: the planner learns the new indexes' statistics at once."""
    exists = f"to_regclass({_literal('public.' + table)}) IS NOT NULL"
    return f"SELECT format('ANALYZE %I', {_literal(table)}) WHERE {exists}\n\\gexec\n"


def render_migration(indexes: tuple[Index, ...] = INDEXES) -> str:
    """The psql script (autocommit, ON_ERROR_STOP): drop INVALID leftovers, say what is skipped,
    build each index whose table exists with a statement of its own, then ANALYZE."""
    rows = ",\n  ".join(f"({_literal(i.name)}, {_literal(i.table)}, {_literal(i.statement())})" for i in indexes)
    wanted = f"(VALUES\n  {rows}\n) AS wanted(name, tbl, stmt)"
    names = ", ".join(_literal(i.name) for i in indexes)
    tables = sorted({i.table for i in indexes})
    return (
        "-- Rendered by components/data/performance_indexes.py: run with psql in autocommit (no\n"
        "-- --single-transaction): CREATE INDEX CONCURRENTLY cannot run inside a transaction.\n"
        "\\set ON_ERROR_STOP on\n"
        "-- A failed concurrent build leaves an INVALID index that IF NOT EXISTS would keep.\n"
        "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I', c.relname)\n"
        "  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid\n"
        f"  WHERE NOT i.indisvalid AND c.relname IN ({names})\n\\gexec\n"
        f"SELECT format('skipped %s: table %s is not installed', name, tbl) AS note FROM {wanted}\n"
        "  WHERE to_regclass(format('public.%I', tbl)) IS NULL;\n"
        f"SELECT stmt FROM {wanted}\n"
        "  WHERE to_regclass(format('public.%I', tbl)) IS NOT NULL\n\\gexec\n"
        + "".join(_analyze(table) for table in tables)
    )
