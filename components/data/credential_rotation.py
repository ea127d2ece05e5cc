"""The rotation function of the data tier's credentials (components/data/rotation/): one Lambda
that Secrets Manager calls for the database's and the caches' secrets, and what it may do.

It runs in the private subnets, reaches the data stores through its own security group (each
store lets that group in) and Secrets Manager's API through the NAT. Its role starts with its
own logs, network interfaces and traces; each store that hands it secrets grants it exactly
those (`rotate`), so the function may touch nothing it does not rotate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.python_function import RUNTIME, function_basics, python_archive
from components.aws.security_group import tcp_rule

#: The function's source, packaged with these pure-Python dependencies (pg8000's own).
FUNCTION_SOURCE = Path(__file__).resolve().parent / "rotation"
FUNCTION_DEPENDENCIES = ("pg8000", "scramp", "asn1crypto", "python-dateutil", "six")
HANDLER = "rotation.rotate.handler"
#: A step is a login or two and a statement; ElastiCache's test waits for its user (90 s at most).
TIMEOUT_S = 120
#: What Secrets Manager needs of the function on a secret it rotates (AWS's rotation templates).
ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


@dataclass(frozen=True)
class CredentialRotationArgs:
    #: Where the function runs: the VPC and its private subnets (NAT to Secrets Manager's API).
    vpc_id: pulumi.Input[str]
    #: The private subnets the function's network interfaces live in.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: The data stores' ranges and ports: the function's only way out besides HTTPS.
    data_cidrs: Sequence[str]
    #: The data stores' ports (PostgreSQL, Redis).
    data_ports: Sequence[int]
    #: Days the function's logs are kept.
    log_retention_days: int
    #: The region of the secrets (Secrets Manager's endpoint, the KMS condition).
    region: str
    #: Who administers the function's log key, in which account (also its invokers' account).
    key_access: KeyAccess
    #: Pulumi `protect` on the log key.
    protect: bool


class CredentialRotation(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:rotation:CredentialRotation"

    def __init__(self, name: str, args: CredentialRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._region = args.region
        group_name = f"/aws/lambda/{name}"
        key = component_key(
            f"{name}-key", "Rotation function logs and environment", self, args.protect, args.key_access, [group_name]
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=group_name, retention_in_days=args.log_retention_days, kms_key_id=key.arn, opts=child
        )
        self.security_group_id = self._network(name, args).id
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com", args.key_access.account_id),
            opts=child,
        )
        base = aws.iam.RolePolicy(
            f"{name}-role", role=self.role.id, policy=policy_document(_base_statements(logs.arn, key.arn)), opts=child
        )
        function = self._function(name, args, key.arn, logs, base)
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="secretsmanager.amazonaws.com",
            source_account=args.key_access.account_id,
            opts=child,
        )
        self.function_arn = function.arn
        self.function_name = function.name
        self.register_outputs({"functionArn": self.function_arn, "securityGroupId": self.security_group_id})

    def _network(self, name: str, args: CredentialRotationArgs) -> aws.ec2.SecurityGroup:
        """Out to the data stores' ports in their ranges, and to HTTPS (Secrets Manager, ElastiCache)."""
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Credential rotation function",
            tags={"Name": f"{name}-sg"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        for port in args.data_ports:
            for index, cidr in enumerate(args.data_cidrs):
                tcp_rule(
                    f"{name}-to-{port}-{index}", group.id, (port, port), "a data store", self, True, cidr_ipv4=cidr
                )
        tcp_rule(
            f"{name}-to-https", group.id, (443, 443), "AWS APIs (through the NAT)", self, True, cidr_ipv4="0.0.0.0/0"
        )
        return group

    def _function(
        self,
        name: str,
        args: CredentialRotationArgs,
        key_arn: pulumi.Output[str],
        logs: aws.cloudwatch.LogGroup,
        base: aws.iam.RolePolicy,
    ) -> aws.lambda_.Function:
        return aws.lambda_.Function(
            f"{name}-function",
            name=name,
            description="Rotates the data tier's credentials in Secrets Manager (PostgreSQL, ElastiCache users)",
            runtime=RUNTIME,
            handler=HANDLER,
            code=python_archive(FUNCTION_SOURCE, FUNCTION_DEPENDENCIES),
            role=self.role.arn,
            timeout=TIMEOUT_S,
            memory_size=256,
            kms_key_arn=key_arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=[self.security_group_id]
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{args.region}.amazonaws.com",
                    # As AWS's rotation templates connect: the runtime's trust store holds the
                    # RDS certificate authorities; the host name is checked too.
                    "PGSSLMODE": "verify-full",
                    "PGSSLROOTCERT": "/etc/pki/tls/cert.pem",
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, base]),
        )

    def rotate(
        self,
        name: str,
        secrets: Sequence[pulumi.Input[str]],
        key_arn: pulumi.Input[str],
        days: int,
        parent: pulumi.Resource,
        after: Sequence[pulumi.Resource] = (),
        more: Sequence[dict] = (),
    ) -> list[aws.secretsmanager.SecretRotation]:
        """Rotate `secrets` (encrypted with `key_arn`) every `days`, the first time at once, once
        `after` exists; the function may rotate exactly these (and do `more`)."""
        via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{self._region}.amazonaws.com"}}
        grant = aws.iam.RolePolicy(
            f"{name}-rotation",
            role=self.role.id,
            policy=policy_document(
                [
                    statement(list(ROTATION_ACTIONS), list(secrets)),
                    statement(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], conditions=via),
                    *more,
                ]
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return [
            aws.secretsmanager.SecretRotation(
                f"{name}-{index}" if len(secrets) > 1 else name,
                secret_id=secret,
                rotation_lambda_arn=self.function_arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(automatically_after_days=days),
                # The first rotation gives the user its first password and retires the program's.
                rotate_immediately=True,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.permission, grant, *after]),
            )
            for index, secret in enumerate(secrets)
        ]


def _base_statements(log_group_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> list[dict]:
    """The function's own needs, and random passwords from Secrets Manager."""
    return [*function_basics(log_group_arn, key_arn), statement(["secretsmanager:GetRandomPassword"])]
