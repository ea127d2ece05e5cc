"""Seeds (and afterwards archives) what the seed's k6 journey expects in Odoo: its test users
`user0…user9999@test.com` with their password, and a catalogue of products named after its
search terms. Runs in Odoo's image (Python's standard library only) as its own Odoo user, through
Odoo's XML-RPC API with that user's API key: Odoo's access rules apply to everything it does, and
it never holds the database's credential.

Idempotent: a second run creates nothing that exists and wakes what a cleanup archived (their
passwords are kept), so a failed run is simply run again. Each batch is one `create` call; Odoo
hashes every password (PBKDF2, a fraction of a second each), so batches run in parallel.
"""

from __future__ import annotations

import os
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The seed's k6 journey (tests/load/scenarios/full_load_test.js): logins, password, search terms.
LOGIN = "user{}@test.com"
PASSWORD = "testpassword123"
SEARCH_TERMS = ("milk", "cheese", "yogurt", "butter", "cream")
#: The seeded products' internal reference: what the cleanup finds them by.
PRODUCT_CODE = "LOADTEST-{:03d}"
#: The address every test user's own contact carries (orders ship to it).
ADDRESS = {"street": "1 Load Test Road", "city": "Test City", "zip": "00000"}
#: The test users are portal users: they shop, they never reach the backend.
PORTAL = ("base", "group_portal")
#: Active and archived records alike.
ALL = {"context": {"active_test": False}}
#: auth_signup would mail each new user an invitation (to test.com): never.
NO_MAIL = {"context": {"no_reset_password": True}}


@dataclass(frozen=True)
class Plan:
    """What a run does: `seed` or `cleanup`, how many users and products, in what batches."""

    mode: str
    users: int
    products: int
    batch: int
    workers: int

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Plan:
        plan = cls(
            env.get("MODE", "seed"),
            int(env.get("USERS", "10000")),
            int(env.get("PRODUCTS", "100")),
            int(env.get("BATCH", "25")),
            int(env.get("WORKERS", "4")),
        )
        if plan.mode not in ("seed", "cleanup") or min(plan.users, plan.products, plan.batch, plan.workers) < 1:
            raise SystemExit(f"MODE must be seed or cleanup and counts positive, got {plan}")
        return plan

    def login_batches(self) -> Iterator[list[str]]:
        logins = [LOGIN.format(n) for n in range(self.users)]
        for start in range(0, len(logins), self.batch):
            yield logins[start : start + self.batch]


class Odoo:
    """One XML-RPC connection as the service user (not thread-safe: one per worker)."""

    def __init__(self, url: str, database: str, login: str, key: str):
        self.database, self.key = database, key
        self.uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(database, login, key, {})
        if not self.uid:
            raise SystemExit(f"Odoo refused {login}'s API key: has its issuer run?")
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.models.execute_kw(self.database, self.uid, self.key, model, method, list(args), kwargs)


def ensure(odoo: Odoo, model: str, key: str, wanted: Sequence[str], build: Callable[[str], dict], **create: Any) -> int:
    """Makes every record of `model` whose `key` is in `wanted` exist and be active: creates the
    missing ones (one call), wakes the archived ones. Returns how many it created."""
    found = odoo.call(model, "search_read", [(key, "in", list(wanted))], fields=[key, "active"], **ALL)
    asleep = [record["id"] for record in found if not record["active"]]
    if asleep:
        odoo.call(model, "write", asleep, {"active": True})
    existing = {record[key] for record in found}
    missing = [value for value in wanted if value not in existing]
    if missing:
        odoo.call(model, "create", [build(value) for value in missing], **create)
    return len(missing)


def seed_users(odoo: Odoo, logins: Sequence[str], portal_id: int) -> int:
    """A batch of the journey's portal users."""
    return ensure(odoo, "res.users", "login", logins, lambda login: _user(login, portal_id), **NO_MAIL)


def _user(login: str, portal_id: int) -> dict:
    groups = [(6, 0, [portal_id])]
    name = login.split("@")[0]
    return {"name": name, "login": login, "email": login, "password": PASSWORD, "groups_id": groups, **ADDRESS}


def seed_products(odoo: Odoo, count: int) -> int:
    """The catalogue: published, saleable products named after the journey's search terms."""
    return ensure(
        odoo, "product.template", "default_code", [PRODUCT_CODE.format(n) for n in range(1, count + 1)], _product
    )


def _product(code: str) -> dict:
    number = int(code.rsplit("-", 1)[1])
    term = SEARCH_TERMS[number % len(SEARCH_TERMS)]
    name = f"Load test {term} {number:03d}"
    return {"name": name, "default_code": code, "sale_ok": True, "is_published": True, "list_price": float(number)}


def archive_users(odoo: Odoo, logins: Sequence[str]) -> int:
    """Archives a batch of the seeded users (one request each, like the seeding)."""
    users = odoo.call("res.users", "search", [("login", "in", list(logins))])
    if users:
        odoo.call("res.users", "write", users, {"active": False})
    return len(users)


def archive_products(odoo: Odoo, plan: Plan) -> int:
    """Archives the seeded products (orders made with them stay, as the run's record)."""
    codes = [PRODUCT_CODE.format(n) for n in range(1, plan.products + 1)]
    products = odoo.call("product.template", "search", [("default_code", "in", codes)])
    if products:
        odoo.call("product.template", "write", products, {"active": False})
    return len(products)


def portal_group(odoo: Odoo) -> int:
    module, name = PORTAL
    domain = [("module", "=", module), ("name", "=", name)]
    [record] = odoo.call("ir.model.data", "search_read", domain, fields=["res_id"])
    return record["res_id"]


def run(connect: Callable[[], Odoo], plan: Plan, say: Callable[[str], None] = print) -> None:
    odoo = connect()
    if plan.mode == "cleanup":
        say(f"archived {archive_products(odoo, plan)} products")
        say(f"archived {in_parallel(connect, plan, archive_users)} users")
        return
    say(f"created {seed_products(odoo, plan.products)} of {plan.products} products")
    portal_id = portal_group(odoo)
    created = in_parallel(connect, plan, lambda batch_odoo, logins: seed_users(batch_odoo, logins, portal_id))
    say(f"created {created} of {plan.users} users")


def in_parallel(connect: Callable[[], Odoo], plan: Plan, task: Callable[[Odoo, list[str]], int]) -> int:
    """`task` over every batch of logins, `plan.workers` at a time, one connection per worker."""
    local = threading.local()

    def one(logins: list[str]) -> int:
        if not hasattr(local, "odoo"):
            local.odoo = connect()
        return task(local.odoo, logins)

    with ThreadPoolExecutor(plan.workers) as pool:
        return sum(pool.map(one, plan.login_batches()))


def main() -> None:
    env = dict(os.environ)
    secrets = Path(env["KEY_DIR"])
    login, key = (secrets / "login").read_text().strip(), (secrets / "key").read_text().strip()
    if not key:
        raise SystemExit(f"{secrets}/key is empty: the seeder's key has not been issued yet")
    run(lambda: Odoo(env["ODOO_URL"], env["ODOO_DB"], login, key), Plan.from_environment(env))


if __name__ == "__main__":
    main()
