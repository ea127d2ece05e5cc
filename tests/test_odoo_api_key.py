"""The gateway's Odoo API key: the issuing script's decisions, run against moto's Secrets Manager
and a stand-in of the part of Odoo 18 it calls (`res.users` search/create, and
`res.users.apikeys._generate(scope, name, expiration_date)` / `_check_credentials(scope=, key=)`,
whose expiry check is Odoo's: a key is valid while `expiration_date >= now`). No Odoo runs here:
what the stand-in cannot prove (Odoo's own hashing, its access rules) is Odoo's, not ours.
"""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from moto import mock_aws

from components.apps.odoo_api_key import GATEWAY_USER
from components.apps.odoo_api_key.issue import SCOPE, issue, revoke

SERVICE_LOGIN = GATEWAY_USER.login
DAY = datetime.timedelta(days=1)
START = datetime.datetime(2026, 12, 1, 3, 17)


class Clock:
    now = START


class Cursor:
    def __init__(self, odoo: FakeOdoo):
        self.odoo = odoo

    def commit(self) -> None:
        self.odoo.committed = [dict(key) for key in self.odoo.keys]

    def rollback(self) -> None:
        self.odoo.keys = [dict(key) for key in self.odoo.committed]


class User:
    def __init__(self, uid: int, login: str, groups_id: list):
        self.id, self.login, self.active = uid, login, True
        self.groups = groups_of(groups_id)

    def __bool__(self) -> bool:
        return True

    def write(self, values: dict) -> None:
        self.active = values.get("active", self.active)
        self.groups = groups_of(values.get("groups_id", [(6, 0, self.groups)]))


def groups_of(commands: list) -> list:
    """The group ids an Odoo x2many `(6, 0, ids)` command sets."""
    [(code, _, ids)] = commands
    assert code == 6, "replace the groups, never add to whatever someone gave the user"
    return list(ids)


class Users:
    def __init__(self, odoo: FakeOdoo):
        self.odoo = odoo

    def sudo(self):
        return self

    def with_context(self, **_):
        return self

    def search(self, domain, limit=None):
        [(_, _, login)] = domain
        return next((u for u in self.odoo.users if u.login == login), None)

    def create(self, values):
        user = User(len(self.odoo.users) + 2, values["login"], values["groups_id"])
        self.odoo.users.append(user)
        return user


class ApiKeys:
    def __init__(self, odoo: FakeOdoo, user: User | None = None):
        self.odoo, self.user = odoo, user

    def sudo(self):
        return self

    def with_user(self, user):
        return ApiKeys(self.odoo, user)

    def _generate(self, scope, name, expiration_date):
        assert self.user is not None, "Odoo files a key under env.user: the script must name the service user"
        key = f"key-{len(self.odoo.keys)}"
        self.odoo.keys.append({"key": key, "uid": self.user.id, "scope": scope, "expires": expiration_date})
        return key

    def search(self, domain):
        [(_, _, uid)] = domain
        return Keys(self.odoo, [row for row in self.odoo.keys if row["uid"] == uid])

    def _check_credentials(self, *, scope, key):
        for row in self.odoo.keys:
            if row["key"] == key and row["scope"] == scope and row["expires"] >= Clock.now:
                return row["uid"]
        return False


class Keys(list):
    def __init__(self, odoo: FakeOdoo, rows: list[dict]):
        super().__init__(rows)
        self.odoo = odoo

    def unlink(self) -> None:
        self.odoo.keys = [row for row in self.odoo.keys if row not in self]


class Ref:
    def __init__(self, xml_id: str):
        self.id = XML_IDS[xml_id]


XML_IDS = {"base.group_user": 1, "base.group_system": 2}


class FakeOdoo:
    """`env` as `odoo shell` hands it to the script."""

    def __init__(self):
        self.users: list[User] = []
        self.keys: list[dict] = []
        self.committed: list[dict] = []
        self.cr = Cursor(self)

    def __getitem__(self, model):
        return {"res.users": Users(self), "res.users.apikeys": ApiKeys(self)}[model]

    def ref(self, xml_id):
        return Ref(xml_id)

    def valid(self, key: str) -> bool:
        return ApiKeys(self)._check_credentials(scope=SCOPE, key=key) is not False


@pytest.fixture
def secrets():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="odoo-api-key", SecretString=json.dumps({"login": SERVICE_LOGIN, "key": ""}))[
            "ARN"
        ]
        yield client, arn


def run(odoo: FakeOdoo, client, arn: str, days: int = 30) -> bool:
    return issue(odoo, client, arn, SERVICE_LOGIN, tuple(GATEWAY_USER.groups), days, Clock.now)


def stored(client, arn: str) -> dict:
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def test_the_first_run_makes_the_user_and_a_key_the_secret_holds(secrets):
    client, arn = secrets
    Clock.now = START
    odoo = FakeOdoo()
    assert run(odoo, client, arn) is True
    value = stored(client, arn)
    assert value["login"] == SERVICE_LOGIN and odoo.valid(value["key"])
    assert [u.login for u in odoo.users] == [SERVICE_LOGIN]
    assert datetime.datetime.fromisoformat(value["expires"]) == START + 60 * DAY
    assert odoo.committed == odoo.keys  # committed after the secret was written


def test_daily_runs_keep_the_key_until_one_period_is_left_and_no_pod_sees_it_expire(secrets):
    """Every pod reads the key at start and lives less than a period: the key it read must stay
    valid for as long as it lives, whichever day it started."""
    client, arn = secrets
    odoo = FakeOdoo()
    issued, read_at = [], {}
    for day in range(0, 200):
        Clock.now = START + day * DAY
        if run(odoo, client, arn):
            issued.append(day)
        read_at[day] = stored(client, arn)["key"]
    assert issued == list(range(0, 200, 30))  # each key renewed when a period is left of its two
    for started, key in read_at.items():
        Clock.now = START + (started + 29) * DAY  # the longest a pod lives: under a period
        assert odoo.valid(key), f"a pod started on day {started} lost its key"


def test_a_failed_write_leaves_no_key_in_odoo(secrets):
    client, arn = secrets
    Clock.now = START
    odoo = FakeOdoo()

    class Refusing:
        exceptions = client.exceptions

        def get_secret_value(self, **kwargs):
            return client.get_secret_value(**kwargs)

        def put_secret_value(self, **kwargs):
            raise RuntimeError("AccessDenied")

    with pytest.raises(RuntimeError):
        run(odoo, Refusing(), arn)
    odoo.cr.rollback()  # what odoo shell does with an uncaught error: nothing commits
    assert odoo.keys == [] and stored(client, arn)["key"] == ""


def test_a_key_odoo_lost_is_replaced_at_the_next_run(secrets):
    """The secret's key was written but Odoo's commit failed: the next run finds it invalid."""
    client, arn = secrets
    Clock.now = START
    odoo = FakeOdoo()
    run(odoo, client, arn)
    odoo.keys, odoo.committed = [], []
    Clock.now = START + DAY
    assert run(odoo, client, arn) is True and odoo.valid(stored(client, arn)["key"])


def test_a_service_user_someone_changed_gets_its_groups_back_and_wakes_up(secrets):
    """An admin archived the user or made it a system administrator: the next run undoes both."""
    client, arn = secrets
    Clock.now = START
    odoo = FakeOdoo()
    run(odoo, client, arn)
    [user] = odoo.users
    user.write({"active": False, "groups_id": [(6, 0, [XML_IDS["base.group_user"], XML_IDS["base.group_system"]])]})
    run(odoo, client, arn)
    assert user.active and user.groups == [XML_IDS[g] for g in GATEWAY_USER.groups]


def test_revoking_a_one_run_user_deletes_its_keys_and_archives_it(secrets):
    client, arn = secrets
    Clock.now = START
    odoo = FakeOdoo()
    run(odoo, client, arn)
    key = stored(client, arn)["key"]
    assert revoke(odoo, SERVICE_LOGIN) == 1
    assert not odoo.valid(key) and not odoo.users[0].active and odoo.committed == []
    assert revoke(odoo, "nobody") == 0
