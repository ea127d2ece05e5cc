"""One environment's delivery identity: its secrets key, its permissions boundary, and two roles
GitHub Actions assume with OIDC, so no long-lived AWS key exists anywhere.

- `smartdairy-<env>-deploy`: AdministratorAccess under the boundary, assumable only by jobs of
  the repository's GitHub environment `<env>` (deployment branches: `main`; prod: reviewers).
- `smartdairy-<env>-preview`: ReadOnlyAccess plus the environment's checkpoints and secrets key,
  under the same boundary, with writes and encryption denied; assumable from `main` and, where
  the environment allows it, from same-repository pull requests.

Each environment has its own secrets key: a role that may decrypt staging's state can never
decrypt prod's (the stack files carry each stack's encrypted data key in git).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import document_json
from components.aws.kms import KeyAccess, component_key

from .access import (
    boundary_statements,
    deploy_statements,
    key_alias,
    preview_statements,
    principal_name,
)
from .github import deploy_subjects, github_trust, preview_subjects

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class EnvironmentIdentityArgs:
    #: The platform environment (`staging`, `prod`): names the roles, key and boundary.
    environment: str
    #: Pulumi stacks of the platform that belong to this environment (their state keys).
    stacks: Sequence[str]
    #: Other environments in this account: the boundary keeps this one's roles off them.
    other_environments: Sequence[str]
    #: owner/name of the GitHub repository the workflows run in.
    repository: str
    #: May same-repository pull requests preview this environment (and so read its state)?
    preview_from_pull_requests: bool
    #: The longest session a deploy needs (role-duration-seconds in the workflows).
    deploy_session_seconds: int
    #: The account and region of the state, keys and secrets this identity reaches.
    account_id: pulumi.Input[str]
    #: The region of the state, keys and secrets this identity reaches.
    region: str
    #: GitHub's OIDC provider in this account, and the platform's state bucket.
    oidc_provider_arn: pulumi.Input[str]
    #: The platform's state bucket.
    state_bucket_arn: pulumi.Input[str]
    #: Who administers the secrets key (the state admins), in this account.
    key_access: KeyAccess
    #: Pulumi `protect` on the secrets key: losing it makes the state's secrets unreadable.
    protect: bool = True


class EnvironmentIdentity(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:delivery:EnvironmentIdentity"

    def __init__(self, name: str, args: EnvironmentIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        env = args.environment
        key = component_key(
            principal_name(env, "state"),
            f"Pulumi secrets of the {env} stacks",
            self,
            args.protect,
            args.key_access,
            retain_on_delete=True,
        )
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=principal_name(env, "boundary"),
            description=f"Permissions boundary of the {env} delivery roles",
            policy=pulumi.Output.all(args.account_id, args.state_bucket_arn, args.oidc_provider_arn).apply(
                lambda v: document_json(boundary_statements(v[0], env, args.other_environments, v[1], v[2]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        backend = pulumi.Output.all(args.state_bucket_arn, key.arn)
        self.deploy_role_arn = self._role(
            f"{name}-deploy",
            principal_name(env, "deploy"),
            github_trust(args.oidc_provider_arn, deploy_subjects(args.repository, env)),
            ADMINISTRATOR,
            backend.apply(lambda v: document_json(deploy_statements(v[0], v[1], args.stacks))),
            boundary,
            args.deploy_session_seconds,
        )
        self.preview_role_arn = self._role(
            f"{name}-preview",
            principal_name(env, "preview"),
            github_trust(args.oidc_provider_arn, preview_subjects(args.repository, args.preview_from_pull_requests)),
            READ_ONLY,
            backend.apply(lambda v: document_json(preview_statements(v[0], v[1], args.stacks, env, args.region))),
            boundary,
            3600,
        )
        self.boundary_arn = boundary.arn
        self.key_arn = key.arn
        self.secrets_provider = f"awskms://{key_alias(env)}?region={args.region}"
        self.register_outputs(
            {
                "deployRoleArn": self.deploy_role_arn,
                "previewRoleArn": self.preview_role_arn,
                "boundaryArn": self.boundary_arn,
                "keyArn": self.key_arn,
                "secretsProvider": self.secrets_provider,
            }
        )

    def _role(
        self,
        name: str,
        role_name: str,
        trust: pulumi.Output[str],
        managed_policy: str,
        backend_policy: pulumi.Output[str],
        boundary: aws.iam.Policy,
        session_seconds: int,
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            name,
            name=role_name,
            assume_role_policy=trust,
            permissions_boundary=boundary.arn,
            max_session_duration=session_seconds,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(name, role=role.name, policy_arn=managed_policy, opts=child)
        aws.iam.RolePolicy(f"{name}-state", role=role.id, policy=backend_policy, opts=child)
        return role.arn
