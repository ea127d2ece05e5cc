"""Customer-managed KMS keys, each with an explicit key policy.

Every key's policy has the same base: the account root's default statement (IAM policies of the
account decide, nothing broader) and administration for the stack's deploy role. The root
statement already defers to IAM, where the deploy role's permissions boundary decides; the
administration statement grants nothing beyond it and puts on record, in the key itself, who
manages it. A service that uses the key *as a
principal* (CloudWatch Logs writing a log group, CloudWatch publishing to an SNS topic) gets a
statement of its own, conditioned on our account and on the resources it may use the key for.
Services that use a key through the caller's grants (RDS, ElastiCache, OpenSearch, EFS, Secrets
Manager) need no statement: the deploy role's IAM permissions and `kms:ViaService` decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, statement

#: What a key administrator may do (the AWS documentation's key-administrator set): manage,
#: never use the key for data.
KEY_ADMINISTRATION = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
#: What CloudWatch Logs needs of a key to encrypt a log group (AWS: "Encrypt log data in
#: CloudWatch Logs using AWS KMS").
LOGS_USE = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


@dataclass(frozen=True)
class KeyAccess:
    """Who a key's policy names besides the account: its administrators (a platform stack's
    deploy role; the bootstrap's state admins), in an account. Administrators are matched by
    `aws:PrincipalArn`, which carries a role's ARN, never a session's: give IAM ARNs
    (`principal_arns` turns assumed-role session patterns into their role's)."""

    account_id: pulumi.Input[str]
    administrator_arns: Sequence[pulumi.Input[str]]


def principal_arns(arns: Sequence[str]) -> list[str]:
    """IAM ARNs as `aws:PrincipalArn` sees them: an STS assumed-role session (pattern) becomes its
    role, with or without a path."""
    found: list[str] = []
    for arn in arns:
        if ":sts::" in arn and ":assumed-role/" in arn:
            account = arn.split(":")[4]
            role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            found += [f"arn:aws:iam::{account}:role/{role}", f"arn:aws:iam::{account}:role/*/{role}"]
        else:
            found.append(arn)
    return found


def key_policy(access: KeyAccess, *service_statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """The account root's default, the administrator, then the services that use the key."""
    root = pulumi.Output.concat("arn:aws:iam::", access.account_id, ":root")
    return policy_document(
        [
            {**statement(["kms:*"], sid="AccountIamPolicies"), "Principal": {"AWS": root}},
            {
                **statement(
                    list(KEY_ADMINISTRATION),
                    sid="KeyAdministration",
                    conditions={"ArnLike": {"aws:PrincipalArn": list(access.administrator_arns)}},
                ),
                "Principal": {"AWS": root},
            },
            *service_statements,
        ]
    )


def log_groups_use(
    region: pulumi.Input[str], account_id: pulumi.Input[str], group_names: Sequence[pulumi.Input[str]]
) -> dict[str, Any]:
    """CloudWatch Logs of `region` may use the key for these log groups only: the encryption
    context carries the group's ARN. A name may end in `*` (Pulumi's auto-name suffix)."""
    arns = [pulumi.Output.concat("arn:aws:logs:", region, ":", account_id, ":log-group:", name) for name in group_names]
    return {
        **statement(
            list(LOGS_USE),
            sid="CloudWatchLogsOfTheseGroups",
            # AWS's documented statement: the context names the group, account included. No
            # aws:SourceAccount: CloudWatch Logs is not documented to send it to KMS.
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arns}},
        ),
        "Principal": {"Service": pulumi.Output.concat("logs.", region, ".amazonaws.com")},
    }


def rotating_key(
    name: str,
    description: str,
    parent: pulumi.Resource,
    protect: bool,
    policy: pulumi.Input[str],
    retain_on_delete: bool = False,
) -> aws.kms.Key:
    """A symmetric key with yearly automatic rotation (FSBP KMS.4), an explicit policy and the
    longest deletion window, so a mistaken delete can still be cancelled for 30 days.
    `retain_on_delete` keeps a key that protects final snapshots and backups when its stack is
    destroyed: a snapshot whose key is gone cannot be restored."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=retain_on_delete),
    )
    aws.kms.Alias(
        f"{name}-alias",
        name=f"alias/{name}",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key


def component_key(
    name: str,
    description: str,
    parent: pulumi.Resource,
    protect: bool,
    access: KeyAccess,
    log_groups: Sequence[str] = (),
    retain_on_delete: bool = False,
) -> aws.kms.Key:
    """A component's key: the base policy, plus CloudWatch Logs of the parent's region for the
    component's own `log_groups` (names, `*` for Pulumi's auto-name suffix), if it has any."""
    uses = []
    if log_groups:
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region
        uses.append(log_groups_use(region, access.account_id, log_groups))
    return rotating_key(name, description, parent, protect, key_policy(access, *uses), retain_on_delete)


def signing_key(
    name: str,
    description: str,
    parent: pulumi.Resource,
    protect: bool,
    access: KeyAccess,
    signer_arn: pulumi.Input[str],
) -> aws.kms.Key:
    """An asymmetric ECC P-256 key that only `signer_arn` may sign with (ES256 tokens); its
    private half never leaves KMS, so nothing of it is in state or in a pod. Verifiers fetch the
    public key (GetPublicKey). KMS rotates no asymmetric key: a new key is a new resource."""
    signer = {
        **statement(["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], sid="SignTokens"),
        "Principal": {"AWS": signer_arn},
    }
    return aws.kms.Key(
        name,
        description=description,
        customer_master_key_spec="ECC_NIST_P256",
        key_usage="SIGN_VERIFY",
        deletion_window_in_days=30,
        policy=key_policy(access, signer),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
