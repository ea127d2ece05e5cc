"""The database credentials, owned by Secrets Manager: a secret per application role, every
secret rotated on a schedule by our rotation function (components/data/pg_rotation/), the
master's included.

What the program writes is no credential: an application role's first value carries no
password (the role has none either until the first rotation sets one), and the master's first
password, which RDS must be given at creation, dies in the rotation that starts with this
component (`rotate_immediately`). The function runs in the private subnets, reaches the
primary through its own security group and Secrets Manager through the NAT, and may touch
these secrets and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.python_function import RUNTIME, python_archive
from components.aws.security_group import tcp_rule
from components.data.pg_rotation.secret_values import role_value

#: The rotation function's source, packaged with these pure-Python dependencies (pg8000's own).
FUNCTION_SOURCE = Path(__file__).resolve().parent / "pg_rotation"
FUNCTION_DEPENDENCIES = ("pg8000", "scramp", "asn1crypto", "dateutil", "six")
HANDLER = "pg_rotation.rotate.handler"
#: Secrets Manager calls the steps one by one; each is a login or two and a statement.
TIMEOUT_S = 60


@dataclass(frozen=True)
class DatabaseCredentialsArgs:
    #: Where the function runs: the VPC, its private subnets (NAT to Secrets Manager's API).
    vpc_id: pulumi.Input[str]
    #: The private subnets the function's network interfaces live in.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The primary's address, port, database and security group (the function is let in).
    host: pulumi.Input[str]
    #: The primary's port.
    port: int
    #: The database the roles belong to.
    database: str
    #: The primary's security group: the function gets a rule into it.
    database_security_group_id: pulumi.Input[str]
    #: The master secret (made with the instance) and the data key every secret uses.
    master_secret_arn: pulumi.Input[str]
    #: The data key: the role secrets are encrypted with it, the function decrypts with it.
    key_arn: pulumi.Input[str]
    #: Secret name -> (role, whether PgBouncer looks its verifier up).
    roles: Mapping[str, tuple[str, bool]]
    #: What makes the roles (the bootstrap Job): the first rotation sets their passwords after it.
    roles_ready: Sequence[pulumi.Resource]
    #: Days between rotations; every pod must be replaced within one (docs/DESIGN.md).
    credential_rotation_days: int
    #: Days a deleted secret stays recoverable (0: deleted at once).
    secret_recovery_window_days: int
    #: Days the function's logs are kept.
    log_retention_days: int
    #: The region of the secrets, and the account the function's invokers belong to.
    region: str
    #: Who administers the function's log key, in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the secrets.
    protect: bool


class DatabaseCredentials(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:database:DatabaseCredentials"
    #: Secret name -> ARN of the application roles' secrets.
    secret_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DatabaseCredentialsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = {key: self._role_secret(name, key, role, pooled, args) for key, (role, pooled) in args.roles.items()}
        arns = [args.master_secret_arn, *(secret.arn for secret in secrets.values())]
        function = self._function(name, args, arns)
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="secretsmanager.amazonaws.com",
            source_account=args.key_access.account_id,
            opts=child,
        )
        for key, arn in [("master", args.master_secret_arn), *((k, s.arn) for k, s in secrets.items())]:
            aws.secretsmanager.SecretRotation(
                f"{name}-{key}",
                secret_id=arn,
                rotation_lambda_arn=function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.credential_rotation_days
                ),
                # The first rotation sets the roles' first passwords and retires the master's.
                rotate_immediately=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, *args.roles_ready]),
            )
        self.secret_arns = {key: secret.arn for key, secret in secrets.items()}
        self.function_name = function.name
        self.register_outputs({"secretArns": self.secret_arns, "functionName": self.function_name})

    def _role_secret(
        self, name: str, key: str, role: str, pooled: bool, args: DatabaseCredentialsArgs
    ) -> aws.secretsmanager.Secret:
        """The role's secret and its first value: where the role lives, no password."""
        secret = aws.secretsmanager.Secret(
            f"{name}-{key}",
            description=f"PostgreSQL role {role} (and its clone), rotated by {name}",
            kms_key_id=args.key_arn,
            recovery_window_in_days=args.secret_recovery_window_days,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        value = pulumi.Output.all(args.host, args.master_secret_arn).apply(
            lambda v: role_value(v[0], args.port, args.database, role, v[1], pooled)
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-{key}",
            secret_id=secret.id,
            # No credential in it: where the role lives, its pair, the master secret's ARN.
            secret_string=pulumi.Output.unsecret(pulumi.Output.json_dumps(value)),
            # The rotation owns the value and its stages from the first rotation on.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretString", "versionStages"]),
        )
        return secret

    def _function(
        self, name: str, args: DatabaseCredentialsArgs, secret_arns: list[pulumi.Input[str]]
    ) -> aws.lambda_.Function:
        """The rotation function, its network, its log group and its least-privilege role."""
        child = pulumi.ResourceOptions(parent=self)
        function_name = name
        group_name = f"/aws/lambda/{function_name}"
        key = component_key(
            f"{name}-key", "Rotation function logs and environment", self, args.protect, args.key_access, [group_name]
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=group_name, retention_in_days=args.log_retention_days, kms_key_id=key.arn, opts=child
        )
        group = self._network(name, args)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com", args.key_access.account_id),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role",
            role=role.id,
            policy=policy_document(_function_statements(args, secret_arns, logs.arn, key.arn)),
            opts=child,
        )
        return aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description="Rotates the PostgreSQL credentials in Secrets Manager (alternating users, SCRAM verifiers)",
            runtime=RUNTIME,
            handler=HANDLER,
            code=python_archive(FUNCTION_SOURCE, FUNCTION_DEPENDENCIES),
            role=role.arn,
            timeout=TIMEOUT_S,
            memory_size=256,
            kms_key_arn=key.arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=[group.id]
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{args.region}.amazonaws.com",
                    # RDS forces TLS; the RDS CA bundle is not in the package yet (docs/DESIGN.md).
                    "PGSSLMODE": "require",
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

    def _network(self, name: str, args: DatabaseCredentialsArgs) -> aws.ec2.SecurityGroup:
        """The function's group: out to the primary and to Secrets Manager's API, and a rule
        into the primary's group."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Credential rotation function",
            tags={"Name": f"{name}-sg"},
            opts=child,
        )
        tcp_rule(
            f"{name}-to-postgres",
            group.id,
            (args.port, args.port),
            "the primary",
            self,
            egress=True,
            referenced_security_group_id=args.database_security_group_id,
        )
        tcp_rule(
            f"{name}-to-secrets-manager",
            group.id,
            (443, 443),
            "Secrets Manager API (through the NAT)",
            self,
            egress=True,
            cidr_ipv4="0.0.0.0/0",
        )
        tcp_rule(
            f"{name}-into-postgres",
            args.database_security_group_id,
            (args.port, args.port),
            "credential rotation function",
            self,
            referenced_security_group_id=group.id,
        )
        return group


def _function_statements(
    args: DatabaseCredentialsArgs,
    secret_arns: list[pulumi.Input[str]],
    log_group_arn: pulumi.Input[str],
    key_arn: pulumi.Input[str],
) -> list[dict]:
    """These secrets' rotation steps, their key through Secrets Manager only, the function's own
    log group, its network interfaces (Lambda's VPC access: EC2 grants no narrower resource)
    and its traces."""
    via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}}
    return [
        statement(
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            secret_arns,
        ),
        statement(["secretsmanager:GetRandomPassword"]),
        statement(["kms:Decrypt", "kms:GenerateDataKey"], [args.key_arn], conditions=via),
        statement(["kms:Decrypt"], [key_arn]),
        statement(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(log_group_arn, ":*")]),
        statement(
            [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ]
        ),
        statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
    ]
