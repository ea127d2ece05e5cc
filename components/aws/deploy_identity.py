"""Who may preview and deploy from GitHub Actions: the account's GitHub OIDC provider and two
roles, so no long-lived AWS key exists anywhere.

- `preview`: read-only (AWS's ReadOnlyAccess), plus the state bucket's lock and the secrets key,
  assumable from pull requests of one repository and from its `main` branch (the drift check);
- `deploy`: administrator, assumable only from that repository's `staging` and `prod` GitHub
  environments, whose protection rules (required reviewers, `main` only) GitHub enforces before
  it issues the token. The subjects are exact strings (StringEquals), never wildcards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, statement

GITHUB_ISSUER = "token.actions.githubusercontent.com"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def preview_subjects(repository: str) -> list[str]:
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]


def deploy_subjects(repository: str, environments: Sequence[str]) -> list[str]:
    return [f"repo:{repository}:environment:{environment}" for environment in environments]


def github_trust(provider_arn: pulumi.Input[str], subjects: Sequence[str]) -> pulumi.Output[str]:
    """Web-identity trust for GitHub's tokens with exactly these `sub` claims."""
    return policy_document(
        [
            {
                **statement(
                    ["sts:AssumeRoleWithWebIdentity"],
                    conditions={
                        "StringEquals": {
                            f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
                            f"{GITHUB_ISSUER}:sub": list(subjects),
                        }
                    },
                ),
                "Principal": {"Federated": provider_arn},
            }
        ]
    )


@dataclass(frozen=True)
class DeployIdentityArgs:
    #: owner/name of the GitHub repository the workflows run in.
    repository: str
    #: GitHub environments whose jobs may deploy.
    deploy_environments: Sequence[str]
    #: Create the account's GitHub OIDC provider; false uses the existing one (one per URL).
    create_oidc_provider: bool
    #: The Pulumi state bucket and the secrets provider's key, both roles use them.
    state_bucket_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]


class DeployIdentity(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:bootstrap:DeployIdentity"
    preview_role_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.create_oidc_provider:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github", url=f"https://{GITHUB_ISSUER}", client_id_lists=["sts.amazonaws.com"], opts=child
            ).arn
        else:
            provider_arn = aws.iam.get_open_id_connect_provider_output(
                url=f"https://{GITHUB_ISSUER}", opts=pulumi.InvokeOutputOptions(parent=self)
            ).arn
        state = policy_document(
            [
                statement(["s3:ListBucket"], [args.state_bucket_arn]),
                statement(
                    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    [pulumi.Output.concat(args.state_bucket_arn, "/*")],
                ),
                statement(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], [args.secrets_key_arn]),
            ]
        )
        roles = {}
        for role, subjects, managed in (
            ("preview", preview_subjects(args.repository), READ_ONLY),
            ("deploy", deploy_subjects(args.repository, args.deploy_environments), ADMINISTRATOR),
        ):
            roles[role] = aws.iam.Role(
                f"{name}-{role}",
                assume_role_policy=github_trust(provider_arn, subjects),
                max_session_duration=3600 * (1 if role == "preview" else 2),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(f"{name}-{role}", role=roles[role].name, policy_arn=managed, opts=child)
            aws.iam.RolePolicy(f"{name}-{role}-state", role=roles[role].id, policy=state, opts=child)
        self.preview_role_arn = roles["preview"].arn
        self.deploy_role_arn = roles["deploy"].arn
        self.oidc_provider_arn = pulumi.Output.from_input(provider_arn)
        self.register_outputs(
            {
                "previewRoleArn": self.preview_role_arn,
                "deployRoleArn": self.deploy_role_arn,
                "oidcProviderArn": self.oidc_provider_arn,
            }
        )
