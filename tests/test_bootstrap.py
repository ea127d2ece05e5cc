"""The bootstrap program (bootstrap/): the deploy identity admits exactly the intended GitHub
subjects, and the state bucket and secrets key pass the platform's own policy pack."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.harness.mock_runtime import ProgramRun, run_program, stack_config
from tools.policy_check import analyze

BOOTSTRAP = ROOT / "bootstrap"
REPO = "smartdairy/smartdairy-platform"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def bootstrap() -> ProgramRun:
    return run_program("main", project_dir=BOOTSTRAP)


def trust(run: ProgramRun, role: str) -> dict:
    [statement] = json.loads(run.named(f"github-{role}", "aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"]
    return statement


def test_previews_come_only_from_pull_requests_and_main(bootstrap):
    statement = trust(bootstrap, "preview")
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [
                f"repo:{REPO}:pull_request",
                f"repo:{REPO}:ref:refs/heads/main",
            ],
        }
    }


def test_deploys_come_only_from_the_protected_environments(bootstrap):
    condition = trust(bootstrap, "deploy")["Condition"]
    assert list(condition) == ["StringEquals"]  # exact subjects: no StringLike wildcards
    assert condition["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        f"repo:{REPO}:environment:staging",
        f"repo:{REPO}:environment:prod",
    ]


def test_the_workflows_ask_for_these_subjects():
    """The workflow jobs that assume each role produce exactly these `sub` claims."""
    workflows = {p.name: p.read_text() for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    assert "AWS_PREVIEW_ROLE_ARN" in workflows["pull-request.yml"] and "environment:" not in workflows["drift.yml"]
    assert workflows["deploy.yml"].count("AWS_DEPLOY_ROLE_ARN") == 2
    assert "environment: staging" in workflows["deploy.yml"] and "environment: prod" in workflows["deploy.yml"]


def test_preview_reads_deploy_administers_both_reach_only_the_state(bootstrap):
    managed = {
        a.name: a.inputs["policyArn"] for a in bootstrap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert managed == {
        "github-preview": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "github-deploy": "arn:aws:iam::aws:policy/AdministratorAccess",
    }
    bucket = bootstrap.one("aws:s3/bucket:Bucket").state["arn"]
    key = bootstrap.one("aws:kms/key:Key").state["arn"]
    for role in ("preview", "deploy"):
        statements = json.loads(bootstrap.named(f"github-{role}-state").inputs["policy"])["Statement"]
        assert {r for s in statements for r in s["Resource"]} == {bucket, f"{bucket}/*", key}


def test_state_bucket_and_key_pass_the_pack_and_are_protected(bootstrap):
    diagnostics = analyze(bootstrap, config={"stateful-resources-protected": {"required": True}})
    assert [d for d in diagnostics if d.level == "mandatory"] == []
    assert not [d for d in diagnostics if d.policy.startswith(("s3-", "kms-", "required-tags"))]
    assert bootstrap.one("aws:s3/bucket:Bucket").protect and bootstrap.one("aws:kms/key:Key").protect
    assert bootstrap.outputs["stateBackend"].startswith("s3://") and bootstrap.outputs["stateBackend"].endswith(
        "?region=eu-west-1"
    )
    assert bootstrap.outputs["secretsProvider"] == "awskms://alias/pulumi-secrets?region=eu-west-1"


def test_an_account_with_the_provider_already_looks_it_up():
    config, _ = stack_config("main", BOOTSTRAP)
    run = run_program(
        "main", project_dir=BOOTSTRAP, config=config | {"smartdairy-bootstrap:createOidcProvider": "false"}
    )
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert trust(run, "preview")["Principal"] == {"Federated": PROVIDER}


def test_a_malformed_repository_is_refused():
    config, _ = stack_config("main", BOOTSTRAP)
    with pytest.raises(Exception, match="expected owner/name"):
        run_program("main", project_dir=BOOTSTRAP, config=config | {"smartdairy-bootstrap:repository": "smartdairy"})
