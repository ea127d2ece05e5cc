"""The rotation function against a real PostgreSQL and a real Redis, with Secrets Manager from
moto, and ElastiCache's user API played by the Redis server's own ACL (LocalElastiCache).

moto keeps the secrets and their staging labels; the steps are those Secrets Manager calls,
in its order, with a fresh ClientRequestToken per rotation. One difference is bridged: before
createSecret, Secrets Manager holds the token as an AWSPENDING version *without a value*, which
moto cannot store, so createSecret is called directly and the three later steps through the
handler, whose version checks then see the pending version as AWS shows it.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from components.apps.database_bootstrap_sql import DatabaseRoles
from components.data.redis_acl import RedisClient, access_string
from components.data.rotation import elasticache, rotate
from components.data.rotation.secret_values import master_value, redis_user_value, role_value
from realserver.postgres import LocalPostgres
from realserver.rds import DATABASE, MASTER, MASTER_PASSWORD, rds_root
from realserver.redis import LocalRedis

REGION = "eu-west-1"
#: Which application roles PgBouncer looks up (the auth_user itself is not pooled).
ROLE_KEYS = {"owner": True, "reader": True, "auth_user": False}


@dataclass(frozen=True)
class Credential:
    username: str
    password: str


class LocalSecretsManager:
    """moto's Secrets Manager, holding the master's and the roles' secrets as the program makes them."""

    def __init__(self, pg: LocalPostgres | None = None, roles: DatabaseRoles | None = None):
        self.pg, self.roles = pg, roles
        self.arns: dict[str, str] = {}

    def __enter__(self) -> LocalSecretsManager:
        local = {"REDIS_TLS": "disable", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}
        if self.pg is not None:
            # The function verifies the local server as the Lambda verifies RDS; Redis has no TLS here.
            local |= {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(rds_root(self.pg))}
        self._saved = {k: os.environ.get(k) for k in local}
        os.environ.update(local)
        self._elasticache = elasticache.elasticache_client
        self._mock = mock_aws()
        self._mock.start()
        self.client = boto3.client("secretsmanager", region_name=REGION)
        if self.pg is not None and self.roles is not None:
            self._add_database(self.pg, self.roles)
        return self

    def _add_database(self, pg: LocalPostgres, roles: DatabaseRoles) -> None:
        where = ("127.0.0.1", pg.port, DATABASE)
        self.arns["master"] = self._add("master", master_value(*where, MASTER, MASTER_PASSWORD))
        for key, pooled in ROLE_KEYS.items():
            role = getattr(roles, key)
            self.arns[key] = self._add(key, role_value(*where, role, self.arns["master"], pooled))

    def __exit__(self, *exc: Any) -> None:
        self._mock.stop()
        elasticache.elasticache_client = self._elasticache
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _add(self, name: str, value: dict[str, Any]) -> str:
        arn = self.client.create_secret(Name=f"db-{name}")["ARN"]
        # Turns rotation on: moto invokes no function when given none (and, with a value already
        # there, would stage a copy without one), so the value comes after.
        self.client.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30})
        self.client.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
        return arn

    def add_redis_user(self, redis: LocalRedis, client: RedisClient) -> str:
        """The client's ACL user as the program creates it (a first password nobody is given),
        and its secret; ElastiCache's user API goes to this Redis from now on."""
        redis.command(
            "ACL", "SETUSER", client.name, "reset", *access_string(client).split(), ">program-first-0123456789"
        )
        self.arns[client.name] = self._add(
            client.name, redis_user_value(f"sd-{client.name}", client.name, "127.0.0.1", redis.port)
        )
        elasticache.elasticache_client = lambda: LocalElastiCache(redis)
        return self.arns[client.name]

    def rotate(self, key: str) -> Credential:
        """One whole rotation of `key`'s secret; returns the new current credential."""
        arn, token = self.arns[key], str(uuid.uuid4())
        rotate.create(self.client, arn, token)
        for step in ("setSecret", "testSecret", "finishSecret"):
            rotate.handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None, self.client)
        return self.current(key)

    def current(self, key: str) -> Credential:
        secret = self.client.get_secret_value(SecretId=self.arns[key], VersionStage="AWSCURRENT")
        value = json.loads(secret["SecretString"])
        return Credential(value["username"], value["password"])

    def rotate_all(self) -> dict[str, Credential]:
        """Every application role's first (or next) rotation, as at a first `up`."""
        return {key: self.rotate(key) for key in ROLE_KEYS}


class LocalElastiCache:
    """ElastiCache's ModifyUser as the rotation function calls it, applied to a local Redis: the
    user's passwords become exactly the given ones (ElastiCache holds at most two)."""

    def __init__(self, redis: LocalRedis):
        self.redis = redis

    def describe_users(self, UserId: str) -> dict[str, Any]:
        return {"Users": [{"UserId": UserId, "Status": "active"}]}

    def modify_user(self, UserId: str, AuthenticationMode: dict[str, Any]) -> None:
        passwords = AuthenticationMode["Passwords"]
        assert AuthenticationMode["Type"] == "password" and 1 <= len(passwords) <= 2
        self.redis.command("ACL", "SETUSER", UserId.removeprefix("sd-"), "resetpass", *(f">{p}" for p in passwords))
