"""Issues a service user's Odoo API key (the API gateway's, the load-test seeder's). Runs inside
`odoo shell` (Odoo 18), which defines `env`; the last lines of this file call `issue` with it
(see RUN).

A key lives two rotation periods; a new one is issued once the current one has less than a
period left, so the key a gateway pod read at start (pods live less than a period, stack config
makes sure) is valid for as long as the pod runs. The key goes to Secrets Manager first, and
Odoo's transaction commits only after that write succeeded: a failed write leaves no key behind,
and a key Odoo lost (a failed commit) is found invalid by the next run, which issues another.
Nothing is printed of the key.
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any

#: Odoo's scope for XML-RPC and JSON-RPC logins with an API key.
SCOPE = "rpc"


def service_user(env: Any, login: str, groups: tuple[str, ...]) -> Any:
    """The service user: active, without a password (API keys only), created once with exactly
    `groups` (XML ids), which a later run sets again if someone changed them."""
    users = env["res.users"].sudo().with_context(active_test=False)
    user = users.search([("login", "=", login)], limit=1)
    group_ids = [(6, 0, [env.ref(xml_id).id for xml_id in groups])]
    if not user:
        return users.create({"name": login, "login": login, "groups_id": group_ids})
    user.write({"active": True, "groups_id": group_ids})
    return user


def current_key(client: Any, secret_arn: str) -> dict[str, str]:
    """The secret's current value, or an empty one before the first key."""
    try:
        return json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        return {}


def still_good(env: Any, user: Any, value: dict[str, str], now: datetime.datetime, period: datetime.timedelta) -> bool:
    """The stored key logs the service user in, and stays valid for more than a period."""
    key, expires = value.get("key"), value.get("expires")
    if not key or not expires or datetime.datetime.fromisoformat(expires) <= now + period:
        return False
    return env["res.users.apikeys"].sudo()._check_credentials(scope=SCOPE, key=key) == user.id


def issue(
    env: Any,
    client: Any,
    secret_arn: str,
    login: str,
    groups: tuple[str, ...],
    period_days: int,
    now: datetime.datetime,
) -> bool:
    """Issues a key if the current one will not outlast a period. Returns whether it did."""
    period = datetime.timedelta(days=period_days)
    user = service_user(env, login, groups)
    if still_good(env, user, current_key(client, secret_arn), now, period):
        env.cr.commit()  # the user, if this run made or woke it
        return False
    expires = now + 2 * period
    name = f"{login} {now:%Y-%m-%d} {secrets.token_hex(2)}"
    key = env["res.users.apikeys"].with_user(user).sudo()._generate(SCOPE, name, expires)
    value = {"login": login, "key": key, "expires": expires.isoformat()}
    client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(value))
    env.cr.commit()
    return True


def revoke(env: Any, login: str) -> int:
    """Ends a one-run service user: deletes its keys and archives it. Returns the keys deleted."""
    user = env["res.users"].sudo().with_context(active_test=False).search([("login", "=", login)], limit=1)
    if not user:
        return 0
    keys = env["res.users.apikeys"].sudo().search([("user_id", "=", user.id)])
    count = len(keys)
    keys.unlink()
    user.write({"active": False})
    env.cr.commit()
    return count


#: What the Job appends to this file for `odoo shell`: its settings come from the environment.
RUN = """
import datetime, os
import boto3
if os.environ.get("REVOKE") == "1":
    print(f"deleted {revoke(env, os.environ['SERVICE_LOGIN'])} keys and archived the user")
else:
    issued = issue(env, boto3.client("secretsmanager"), os.environ["KEY_SECRET_ARN"], os.environ["SERVICE_LOGIN"],
                   tuple(os.environ["SERVICE_GROUPS"].split(",")), int(os.environ["ROTATION_DAYS"]),
                   datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None))
    print("issued a new key" if issued else "the current key is good for more than a period")
"""
