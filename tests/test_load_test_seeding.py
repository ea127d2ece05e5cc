"""The load test's data: the seeding script run over real XML-RPC against a local stand-in of the
part of Odoo's external API it calls (`common.authenticate`, `object.execute_kw` with
search/search_read/create/write, `active_test`), and the k6 journey's `setup()` taking its products
from the catalogue. What the stand-in cannot prove (Odoo's password hashing, its access rules for
the seeder's groups) is Odoo's; nothing here ran a real Odoo.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from xmlrpc.server import SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest

from components.apps.load_test_data import PRODUCTS, USERS
from components.apps.load_test_data.seed import LOGIN, PASSWORD, Odoo, Plan, run
from tests.conftest import ROOT
from tests.harness.k6 import k6_exports, k6_setup

SEED = ROOT / "components" / "apps" / "load_test_data" / "seed.py"
SCRIPT = ROOT / "components" / "apps" / "loadtest" / "full_load_test.js"
DB, SEEDER, KEY = "smartdairy", "loadtest-seeder", "k" * 40
PORTAL_ID = 10


@dataclass
class Models:
    """Odoo's records as the seeder sees them, and every call it made."""

    tables: dict[str, list[dict]] = field(default_factory=lambda: {"res.users": [], "product.template": []})
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def execute_kw(self, db, uid, key, model, method, args, kwargs=None):
        if (db, uid, key) != (DB, 2, KEY):
            raise PermissionError("Access Denied")
        kwargs = kwargs or {}
        with self.lock:
            self.calls.append((model, method))
            if model == "ir.model.data":
                return [{"id": 1, "res_id": PORTAL_ID}]
            return getattr(self, method)(self.tables[model], *args, **kwargs)

    @staticmethod
    def _matches(row: dict, domain: list, active_test: bool) -> bool:
        if active_test and not row["active"]:
            return False
        return all(row.get(name) in value if op == "in" else row.get(name) == value for name, op, value in domain)

    def search(self, table, domain, context=None):
        active_test = (context or {}).get("active_test", True)
        return [row["id"] for row in table if self._matches(row, domain, active_test)]

    def search_read(self, table, domain, fields, context=None):
        ids = set(self.search(table, domain, context))
        return [{"id": row["id"], **{f: row.get(f) for f in fields}} for row in table if row["id"] in ids]

    def create(self, table, values, context=None):
        assert isinstance(values, list), "one call per batch"
        if table is self.tables["res.users"]:
            assert (context or {}).get("no_reset_password"), "auth_signup would mail every test user"
        for value in values:
            table.append({"id": len(table) + 100, "active": True, **value})
        return [row["id"] for row in table[-len(values) :]]

    def write(self, table, ids, values):
        for row in table:
            if row["id"] in ids:
                row.update(values)
        return True


class Dispatcher(SimpleXMLRPCDispatcher):
    pass


class Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")


@pytest.fixture
def odoo() -> Iterator[tuple[str, Models]]:
    """A local XML-RPC server answering as Odoo's /xmlrpc/2/ endpoints."""
    models = Models()
    server = SimpleXMLRPCServer(("127.0.0.1", 0), Handler, allow_none=True, logRequests=False)
    server.register_function(
        lambda db, login, key, env: 2 if (db, login, key) == (DB, SEEDER, KEY) else False, "authenticate"
    )
    server.register_function(lambda *call: models.execute_kw(*call), "execute_kw")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", models
    server.shutdown()
    server.server_close()


def seed(url: str, mode: str, users: int = 120, key: str = KEY) -> list[str]:
    said: list[str] = []
    plan = Plan(mode, users, 12, batch=25, workers=4)
    run(lambda: Odoo(url, DB, SEEDER, key), plan, said.append)
    return said


def test_a_run_makes_every_user_and_product_the_journey_uses(odoo):
    url, models = odoo
    assert seed(url, "seed") == ["created 12 of 12 products", "created 120 of 120 users"]
    users = {u["login"]: u for u in models.tables["res.users"]}
    assert set(users) == {LOGIN.format(n) for n in range(120)}
    assert all(u["password"] == PASSWORD and u["groups_id"] == [[6, 0, [PORTAL_ID]]] for u in users.values())
    assert all(u["street"] and u["city"] for u in users.values()), "every user has an address to ship to"
    names = [p["name"] for p in models.tables["product.template"]]
    assert all(p["sale_ok"] and p["is_published"] for p in models.tables["product.template"])
    assert {term for term in ("milk", "cheese", "yogurt", "butter", "cream") if any(term in n for n in names)} == {
        "milk", "cheese", "yogurt", "butter", "cream"
    }, "every search term of the journey finds products"  # fmt: skip
    assert models.calls.count(("res.users", "create")) == 120 // 25 + 1, "one create per batch"
    seed(url, "cleanup")
    assert models.calls.count(("res.users", "write")) == 120 // 25 + 1, "archived in batches too"


def test_a_second_run_creates_nothing_and_a_cleanup_archives_what_a_rerun_wakes(odoo):
    url, models = odoo
    seed(url, "seed")
    assert seed(url, "seed") == ["created 0 of 12 products", "created 0 of 120 users"]
    assert seed(url, "cleanup") == ["archived 12 products", "archived 120 users"]
    assert not any(row["active"] for table in models.tables.values() for row in table)
    assert seed(url, "seed")[1] == "created 0 of 120 users"
    assert all(row["active"] for table in models.tables.values() for row in table)
    assert len(models.tables["res.users"]) == 120


def test_a_refused_key_stops_the_run_with_one_line(odoo):
    url, models = odoo
    with pytest.raises(SystemExit, match="Odoo refused loadtest-seeder's API key"):
        seed(url, "seed", key="wrong")
    assert models.calls == []


def test_bad_settings_are_refused():
    with pytest.raises(SystemExit, match="MODE must be seed or cleanup"):
        Plan.from_environment({"MODE": "drop"})
    with pytest.raises(SystemExit, match="counts positive"):
        Plan.from_environment({"WORKERS": "0"})


def test_the_script_needs_only_pythons_standard_library():
    """It runs in Odoo's image with no install step."""
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(SEED.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(SEED.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names


def test_the_counts_are_the_journeys():
    """The journey logs in as user<n>@test.com for n below USERS."""
    assert "Math.random() * 10000)}@test.com" in SCRIPT.read_text() and USERS == 10_000
    assert PRODUCTS == 100 and "limit=100" in SCRIPT.read_text()


def test_the_journey_picks_among_the_products_the_catalogue_lists():
    base = "https://staging.example.com"
    listed = {
        f"{base}/api/v2/products?page=1&limit=100": {"status": 200, "body": {"products": [{"id": 41}, {"id": 57}]}}
    }
    assert k6_setup(SCRIPT, {"BASE_URL": base}, listed) == {"productIds": [41, 57]}
    with pytest.raises(RuntimeError, match=r"the catalogue is empty \(status 404\): has the seeding Job run"):
        k6_setup(SCRIPT, {"BASE_URL": base}, {})
    assert k6_exports(SCRIPT)["options"]["thresholds"]["http_req_failed"] == ["rate<0.01"]
