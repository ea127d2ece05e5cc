"""GitHub Actions' OIDC tokens: the `sub` claims our workflows produce, and trust policies that
admit exactly those (StringEquals, never a wildcard).

A job that names a GitHub environment gets `repo:<owner>/<name>:environment:<env>`, from any
branch unless the environment restricts its deployment branches (README "Real use" sets `main`
only). A pull request from a branch of the repository gets `repo:<owner>/<name>:pull_request`;
a fork's pull request gets no token at all. A push or schedule on `main` gets
`repo:<owner>/<name>:ref:refs/heads/main`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.aws.iam_documents import policy_document, statement

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
#: GitHub's rules for owner and repository names.
REPOSITORY = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"


def deploy_subjects(repository: str, environment: str) -> list[str]:
    """Only jobs of the repository's GitHub environment `environment`."""
    return [f"repo:{repository}:environment:{environment}"]


def preview_subjects(repository: str, from_pull_requests: bool) -> list[str]:
    """`main` (the drift check, the deploy workflow), and, where allowed, same-repository pull requests."""
    subjects = [f"repo:{repository}:ref:refs/heads/main"]
    return subjects + ([f"repo:{repository}:pull_request"] if from_pull_requests else [])


def github_trust(provider_arn: pulumi.Input[str], subjects: Sequence[str]) -> pulumi.Output[str]:
    """Web-identity trust for GitHub's tokens with exactly these `sub` claims."""
    return policy_document(
        [
            {
                **statement(
                    ["sts:AssumeRoleWithWebIdentity"],
                    conditions={"StringEquals": {f"{ISSUER}:aud": AUDIENCE, f"{ISSUER}:sub": list(subjects)}},
                ),
                "Principal": {"Federated": provider_arn},
            }
        ]
    )
