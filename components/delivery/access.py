"""Who may touch what, for the delivery identities: names, state keys and the policy statements.

Pure functions: the bootstrap program turns them into IAM and bucket policies, and tests
evaluate them against the requests a preview, a deploy and an attacker would make.

Every delivery principal has a fixed name (`smartdairy-<env>-deploy`, ...), so the state
bucket's policy and the boundaries can name them before they exist and without a dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.aws.iam_documents import statement
from components.delivery.service_linked_roles import PLATFORM_SERVICE_ROLES

#: The platform's Pulumi project: its stacks' state lives under .pulumi/*/<project>/.
PLATFORM_PROJECT = "smartdairy-platform"
#: What a preview may do to objects: read. What a deploy also does: write its checkpoint,
#: history and backups, take and drop its lock.
READ_OBJECT = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_OBJECT = ("s3:PutObject", "s3:DeleteObject")
#: Every way to change or remove an object (versions, tags, ACLs, restores): what the denies name.
ANY_OBJECT_WRITE = ("s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject")
LIST_BUCKET = ("s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation")
#: Encrypting writes new secrets; only a deploy does it (`pulumi up`, `config set --secret`).
DECRYPT = ("kms:Decrypt", "kms:DescribeKey")
ENCRYPT = ("kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*")
#: What may never change the state bucket or the keys behind the secrets, whoever asks.
BUCKET_ADMIN = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
)
KEY_ADMIN = (
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:CreateGrant",
    "kms:DisableKeyRotation",
)
#: Long-lived credentials: the delivery path needs none, so nobody under a boundary makes one.
LONG_LIVED = ("iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
#: What no delivery role ever gets: credentials that outlive a job, a way out of its boundary,
#: the organization and the account's own settings.
NEVER_GRANTED = (*LONG_LIVED, "iam:DeleteRolePermissionsBoundary", "organizations:*", "account:*")


def principal_name(environment: str, kind: str) -> str:
    """`smartdairy-<env>-deploy`, `-preview`, `-runner`, `-boundary` (a policy), `-state` (a key alias)."""
    return f"smartdairy-{environment}-{kind}"


def resource_prefix(environment: str) -> str:
    """How an environment's stacks name what they create (`sd-<env>-...`, Pulumi autonames from
    it): the boundary lets its roles create, pass, assume and re-trust only roles named so, and
    keeps them off other environments' buckets, so no other role of the account is reachable."""
    return f"sd-{environment}"


def _own_roles(account_id: str, environment: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{resource_prefix(environment)}-*"


def role_arn(account_id: str, environment: str, kind: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{principal_name(environment, kind)}"


def boundary_arn(account_id: str, environment: str) -> str:
    return f"arn:aws:iam::{account_id}:policy/{principal_name(environment, 'boundary')}"


def key_alias(environment: str) -> str:
    return f"alias/{principal_name(environment, 'state')}"


def checkpoints(bucket_arn: str, stacks: Sequence[str], project: str = PLATFORM_PROJECT) -> list[str]:
    """What `pulumi preview` reads of these stacks: each checkpoint (plain, .gz, .zst, .bak) and
    its tags. Not `<stack>.*`: stack names may hold dots, and `prod.eu` is another stack."""
    bases = [f"{bucket_arn}/.pulumi/stacks/{project}/{stack}" for stack in stacks]
    return [object_key for base in bases for object_key in (f"{base}.json*", f"{base}.pulumi-tags")]


def history(bucket_arn: str, stacks: Sequence[str], project: str = PLATFORM_PROJECT) -> list[str]:
    """What `pulumi up` also writes for these stacks: history, backups and the lock."""
    return [
        f"{bucket_arn}/.pulumi/{folder}/{project}/{stack}/*"
        for stack in stacks
        for folder in ("history", "backups", "locks/organization")
    ]


def backend_meta(bucket_arn: str) -> str:
    """.pulumi/meta.yaml: every CLI reads it when it opens the backend."""
    return f"{bucket_arn}/.pulumi/meta.yaml"


def bucket_confinement(
    bucket_arn: str, account_id: str, environment: str, stacks: Sequence[str], admins: Sequence[str]
) -> list[dict[str, Any]]:
    """State bucket policy statements for one environment's stacks: only its roles (and the
    state admins) reach their objects, only its deploy role (and the admins) writes them. Named by
    who is allowed, so a role anyone creates later is kept out too."""
    objects = checkpoints(bucket_arn, stacks) + history(bucket_arn, stacks)
    deploy, preview = (role_arn(account_id, environment, kind) for kind in ("deploy", "preview"))
    return [
        _deny_unless([deploy, preview, *admins], ["s3:*"], objects, sid=f"{_sid(environment)}StateOnlyForItsRoles"),
        _deny_unless(
            [deploy, *admins],
            ANY_OBJECT_WRITE,
            objects,
            sid=f"{_sid(environment)}StateWrittenOnlyByItsDeploy",
        ),
    ]


def meta_confinement(bucket_arn: str, admins: Sequence[str]) -> dict[str, Any]:
    """.pulumi/meta.yaml decides the layout of every stack: only the state admins write it."""
    return _deny_unless(admins, ANY_OBJECT_WRITE, [backend_meta(bucket_arn)], sid="MetaForAdmins")


def _sid(environment: str) -> str:
    return "".join(part.capitalize() for part in environment.split("-"))


def _deny_unless(
    principals: Sequence[str], actions: Sequence[str], resources: Sequence[str], *, sid: str
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": list(resources),
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": list(principals)}},
    }


def deploy_statements(bucket_arn: str, key_arn: str, stacks: Sequence[str]) -> list[dict[str, Any]]:
    """The deploy role's own grants on the backend (explicit, so a narrower managed policy than
    AdministratorAccess keeps working)."""
    objects = checkpoints(bucket_arn, stacks) + history(bucket_arn, stacks)
    return [
        statement(LIST_BUCKET, [bucket_arn], sid="ListState"),
        statement([*READ_OBJECT, *WRITE_OBJECT], [*objects, backend_meta(bucket_arn)], sid="OwnStacks"),
        statement([*DECRYPT, *ENCRYPT], [key_arn], sid="OwnSecretsKey"),
    ]


def preview_statements(
    bucket_arn: str, key_arn: str, stacks: Sequence[str], environment: str, region: str
) -> list[dict[str, Any]]:
    """Read the environment's checkpoints, decrypt its secrets key, and read the secrets a
    `--refresh` re-reads (Secrets Manager versions of this environment only). Nothing else is
    added to ReadOnlyAccess, which holds no kms:Decrypt and no secretsmanager:GetSecretValue."""
    tagged = {"StringEquals": {"aws:ResourceTag/Environment": environment}}
    return [
        statement(LIST_BUCKET, [bucket_arn], sid="ListState"),
        statement(
            READ_OBJECT,
            [*checkpoints(bucket_arn, stacks), backend_meta(bucket_arn)],
            sid="ReadOwnCheckpoints",
        ),
        statement(DECRYPT, [key_arn], sid="DecryptOwnSecretsKey"),
        statement(["secretsmanager:GetSecretValue"], ["*"], conditions=tagged, sid="RefreshOwnSecrets"),
        statement(
            ["kms:Decrypt"],
            ["*"],
            conditions={
                "StringEquals": {
                    "aws:ResourceTag/Environment": environment,
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                }
            },
            sid="DecryptOwnSecretsThroughSecretsManager",
        ),
        statement(
            [*ANY_OBJECT_WRITE, *BUCKET_ADMIN, *ENCRYPT, *KEY_ADMIN],
            ["*"],
            effect="Deny",
            sid="NeverWriteNeverEncrypt",
        ),
        # ReadOnlyAccess reads every object; a preview needs the checkpoints, not their history.
        statement(
            ["s3:GetObject*"],
            history(bucket_arn, stacks),
            effect="Deny",
            sid="NoHistory",
        ),
    ]


def boundary_statements(
    account_id: str, environment: str, others: Sequence[str], bucket_arn: str, oidc_provider_arn: str
) -> list[dict[str, Any]]:
    """The permissions boundary of an environment's roles: everything but NEVER_GRANTED, except
    - changing any delivery identity (roles, boundaries, the OIDC provider) or the runners;
    - a role created without this same boundary or not named for this environment, a policy
      put on a role without the boundary, another role re-trusted, tagged, passed or assumed (no
      way out of it, and no way into the account's other roles);
    - reconfiguring the state bucket, or administering or using another environment's state key;
    - touching, or creating, resources tagged with another environment (one account, two
      environments: staging's deploy role never reaches prod)."""
    return [
        # Not Action "*" (FSBP IAM.1): the boundary never grants these, whatever a role holds.
        {"Sid": "WithinTheBoundary", "Effect": "Allow", "NotAction": list(NEVER_GRANTED), "Resource": "*"},
        statement(list(NEVER_GRANTED), effect="Deny", sid="NoWayOut"),
        *_delivery_stays_as_built(account_id, bucket_arn, oidc_provider_arn),
        *_roles_stay_in_the_environment(account_id, environment),
        *(_other_environments_out_of_reach(others) if others else []),
    ]


def _delivery_stays_as_built(account_id: str, bucket_arn: str, oidc_provider_arn: str) -> list[dict[str, Any]]:
    """The delivery roles, boundaries, OIDC provider, runners, state bucket and state keys."""
    delivery = [
        f"arn:aws:iam::{account_id}:role/smartdairy-*",
        f"arn:aws:iam::{account_id}:policy/smartdairy-*",
        oidc_provider_arn,
    ]
    runners = [f"arn:aws:codebuild:*:{account_id}:project/smartdairy-*"]
    return [
        {
            "Sid": "DeliveryIdentityIsReadOnly",
            "Effect": "Deny",
            "NotAction": ["iam:Get*", "iam:List*"],
            "Resource": delivery,
        },
        {
            "Sid": "RunnersStayAsBuilt",
            "Effect": "Deny",
            "NotAction": ["codebuild:BatchGet*", "codebuild:List*"],
            "Resource": runners,
        },
        statement(BUCKET_ADMIN, [bucket_arn], effect="Deny", sid="StateBucketStaysAsBuilt"),
        statement(
            KEY_ADMIN,
            effect="Deny",
            conditions={"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/smartdairy-*-state"}},
            sid="StateKeysStayAsBuilt",
        ),
    ]


def _roles_stay_in_the_environment(account_id: str, environment: str) -> list[dict[str, Any]]:
    """New roles carry this boundary and the environment's name; only those get policies, new
    trust, tags, or are passed and assumed. The account's service-linked roles are the
    bootstrap's: no stack deletes one, nor creates those the bootstrap makes."""
    bounded = {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn(account_id, environment)}}
    own = [_own_roles(account_id, environment)]
    return [
        statement(
            ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            effect="Deny",
            conditions=bounded,
            sid="NewRolesCarryThisBoundary",
        ),
        statement(["iam:CreateRole"], effect="Deny", not_resources=own, sid="NewRolesNamedForThisEnvironment"),
        statement(
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            effect="Deny",
            conditions=bounded,
            sid="PoliciesOnlyOnBoundedRoles",
        ),
        statement(
            ["iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "sts:AssumeRole"],
            effect="Deny",
            not_resources=own,
            sid="TrustOnlyOwnRoles",
        ),
        statement(
            ["iam:PassRole"],
            effect="Deny",
            not_resources=[*own, f"arn:aws:iam::{account_id}:role/aws-service-role/*"],
            sid="PassOnlyOwnRoles",
        ),
        # Services still make their own roles on first use (RDS, ElastiCache, EKS, ELB).
        statement(["iam:DeleteServiceLinkedRole"], effect="Deny", sid="ServiceLinkedRolesOutliveStacks"),
        statement(
            ["iam:CreateServiceLinkedRole"],
            effect="Deny",
            conditions={"StringEquals": {"iam:AWSServiceName": list(PLATFORM_SERVICE_ROLES)}},
            sid="TheBootstrapOwnsTheseServiceRoles",
        ),
    ]


def _other_environments_out_of_reach(others: Sequence[str]) -> list[dict[str, Any]]:
    """One account, several environments: their state keys, tagged resources and buckets."""
    return [
        statement(
            ["kms:*"],
            effect="Deny",
            conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key_alias(o) for o in others]}},
            sid="NoOtherEnvironmentsStateKey",
        ),
        statement(
            ["*"],
            effect="Deny",
            conditions={"StringEquals": {"aws:ResourceTag/Environment": list(others)}},
            sid="NoOtherEnvironmentsResources",
        ),
        statement(
            ["*"],
            effect="Deny",
            conditions={"StringEquals": {"aws:RequestTag/Environment": list(others)}},
            sid="NoResourcesForOtherEnvironments",
        ),
        # Object reads carry no bucket tag: the platform's buckets are named sd-<env>-*.
        statement(
            ["s3:*"],
            [f"arn:aws:s3:::{resource_prefix(o)}-*{suffix}" for o in others for suffix in ("", "/*")],
            effect="Deny",
            sid="NoOtherEnvironmentsBuckets",
        ),
    ]
