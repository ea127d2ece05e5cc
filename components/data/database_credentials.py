"""The database credentials, owned by Secrets Manager: a secret per application role, and every
database secret rotated on a schedule by the data tier's rotation function, the master's
included.

What the program writes is no credential: an application role's first value carries no
password (the role has none either until the first rotation sets one), and the master's first
password, which RDS must be given at creation, dies in the rotation that starts here
(`rotate_immediately`), once the bootstrap Job has made the roles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.secrets import first_version
from components.data.credential_rotation import CredentialRotation
from components.data.rotation.secret_values import role_value


@dataclass(frozen=True)
class DatabaseCredentialsArgs:
    #: The primary's address: where the roles' secrets point.
    host: pulumi.Input[str]
    #: The primary's port.
    port: int
    #: The database the roles belong to.
    database: str
    #: The master secret (made with the instance): rotated here, and read by the function to
    #: administer the roles.
    master_secret_arn: pulumi.Input[str]
    #: The data key: the role secrets are encrypted with it, the function decrypts with it.
    key_arn: pulumi.Input[str]
    #: Secret name -> (role, whether PgBouncer looks its verifier up).
    roles: Mapping[str, tuple[str, bool]]
    #: What makes the roles (the bootstrap Job): the first rotation sets their passwords after it.
    roles_ready: Sequence[pulumi.Resource]
    #: The data tier's rotation function.
    rotation: CredentialRotation
    #: Days between rotations; no pod may live longer (stacks/schema/platform.py).
    credential_rotation_days: int
    #: Days a deleted secret stays recoverable (0: deleted at once).
    secret_recovery_window_days: int
    #: Pulumi `protect` on the secrets.
    protect: bool


class DatabaseCredentials(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:database:DatabaseCredentials"
    #: Secret name -> ARN of the application roles' secrets.
    secret_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DatabaseCredentialsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        secrets = {key: self._role_secret(name, key, role, pooled, args) for key, (role, pooled) in args.roles.items()}
        args.rotation.rotate(
            name,
            [args.master_secret_arn, *(secret.arn for secret in secrets.values())],
            args.key_arn,
            args.credential_rotation_days,
            self,
            after=args.roles_ready,
        )
        self.secret_arns = {key: secret.arn for key, secret in secrets.items()}
        self.register_outputs({"secretArns": self.secret_arns})

    def _role_secret(
        self, name: str, key: str, role: str, pooled: bool, args: DatabaseCredentialsArgs
    ) -> aws.secretsmanager.Secret:
        """The role's secret and its first value: where the role lives, no password."""
        secret = aws.secretsmanager.Secret(
            f"{name}-{key}",
            description=f"PostgreSQL role {role} (and its clone), rotated by the data tier's rotation function",
            kms_key_id=args.key_arn,
            recovery_window_in_days=args.secret_recovery_window_days,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        value = pulumi.Output.all(args.host, args.master_secret_arn).apply(
            lambda v: role_value(v[0], args.port, args.database, role, v[1], pooled)
        )
        # No credential in it (where and who, no password): not a secret.
        text = pulumi.Output.unsecret(pulumi.Output.json_dumps(value))
        first_version(f"{name}-{key}", secret.id, text, self)
        return secret
