"""The rotation function against a real PostgreSQL, with Secrets Manager from moto.

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
from components.data.pg_rotation import rotate
from components.data.pg_rotation.secret_values import master_value, role_value
from realserver.postgres import LocalPostgres
from realserver.rds import DATABASE, MASTER, MASTER_PASSWORD

REGION = "eu-west-1"
#: Which application roles PgBouncer looks up (the auth_user itself is not pooled).
ROLE_KEYS = {"owner": True, "reader": True, "auth_user": False}


@dataclass(frozen=True)
class Credential:
    username: str
    password: str


class LocalSecretsManager:
    """moto's Secrets Manager, holding the master's and the roles' secrets as the program makes them."""

    def __init__(self, pg: LocalPostgres, roles: DatabaseRoles):
        self.pg, self.roles = pg, roles
        self.arns: dict[str, str] = {}

    def __enter__(self) -> LocalSecretsManager:
        self._saved = {k: os.environ.get(k) for k in ("PGSSLMODE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        # The local server has no TLS; the Lambda's environment says verify-full.
        os.environ.update(PGSSLMODE="disable", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        self._mock = mock_aws()
        self._mock.start()
        self.client = boto3.client("secretsmanager", region_name=REGION)
        where = ("127.0.0.1", self.pg.port, DATABASE)
        self.arns["master"] = self._add("master", master_value(*where, MASTER, MASTER_PASSWORD))
        for key, pooled in ROLE_KEYS.items():
            role = getattr(self.roles, key)
            self.arns[key] = self._add(key, role_value(*where, role, self.arns["master"], pooled))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mock.stop()
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
