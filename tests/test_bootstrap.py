"""The bootstrap program (bootstrap/): one identity per environment whose trust admits exactly
the intended GitHub tokens, previews that read only their own state, deploys confined to their
own environment, a runner with a path to the private API, and a state bucket and keys that pass
the platform's own pack. Effective permissions are evaluated (tests/harness/iam.py) against the
real ReadOnlyAccess document, not read off the statements."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from stacks.loader import ConfigError, load_config
from stacks.schema.delivery import BootstrapConfig
from stacks.stack_file import stack_config
from synth.mock_runtime import ProgramRun, run_program
from tests.conftest import ROOT
from tests.harness.checks import nonempty
from tests.harness.iam import Principal, Request, managed_policy, may_assume
from tools.policy_check import analyze

BOOTSTRAP = ROOT / "bootstrap"
REPO = "smartdairy/smartdairy-platform"
ACCOUNT = "123456789012"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
NS = "smartdairy-bootstrap"


@pytest.fixture(scope="module")
def bootstrap() -> ProgramRun:
    return run_program("main", project_dir=BOOTSTRAP)


def claims(sub: str, repository: str = REPO, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {
        "token.actions.githubusercontent.com:sub": sub.replace("{repo}", repository),
        "token.actions.githubusercontent.com:aud": aud,
    }


#: GitHub's `sub` claim for each way a workflow job can ask for a token (None: no token at all).
JOBS = {
    "pull request from a branch": claims("repo:{repo}:pull_request"),
    "pull request from a fork": None,
    "push or schedule on main": claims("repo:{repo}:ref:refs/heads/main"),
    "job in environment staging": claims("repo:{repo}:environment:staging"),
    "job in environment prod": claims("repo:{repo}:environment:prod"),
    # Without the environment's `main`-only rule GitHub would issue it the environment's subject.
    "feature branch naming environment: staging": claims("repo:{repo}:environment:staging"),
    "another repository's main": claims("repo:{repo}:ref:refs/heads/main", "someone/else"),
    "token for another audience": claims("repo:{repo}:environment:prod", aud="sigstore"),
}
EXPECTED = {
    "pull request from a branch": {"smartdairy-staging-preview"},
    "pull request from a fork": set(),
    "push or schedule on main": {"smartdairy-staging-preview", "smartdairy-prod-preview"},
    "job in environment staging": {"smartdairy-staging-deploy"},
    "job in environment prod": {"smartdairy-prod-deploy"},
    "feature branch naming environment: staging": {"smartdairy-staging-deploy"},
    "another repository's main": set(),
    "token for another audience": set(),
}


def roles(run: ProgramRun) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in run.of_type("aws:iam/role:Role") if "identity" in r.name}


@pytest.mark.parametrize("job", JOBS)
def test_each_github_job_can_assume_exactly_its_roles(bootstrap, job):
    assumable = {
        name
        for name, role in roles(bootstrap).items()
        if may_assume(json.loads(role["assumeRolePolicy"]), PROVIDER, JOBS[job])
    }
    print(f"{job:<45} -> {sorted(assumable) or 'nothing'}")
    assert assumable == EXPECTED[job]


def test_trust_is_exact_subjects_never_wildcards(bootstrap):
    for name, role in nonempty(roles(bootstrap).items()):
        [trust] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert list(trust["Condition"]) == ["StringEquals"], name
        assert trust["Principal"] == {"Federated": PROVIDER}


def principal(run: ProgramRun, role_name: str) -> Principal:
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs.get("name") == role_name)
    attached = [
        a.inputs["policyArn"]
        for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name == role.name
    ]
    inline = [
        json.loads(p.inputs["policy"])
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name == f"{role.name}-state"
    ]
    boundary = next(
        p for p in run.of_type("aws:iam/policy:Policy") if p.state["arn"] == role.inputs["permissionsBoundary"]
    )
    return Principal(
        f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
        [managed_policy(arn) for arn in attached] + inline,
        json.loads(boundary.inputs["policy"]),
    )


def world(run: ProgramRun) -> dict[str, str]:
    bucket = run.one("aws:s3/bucket:Bucket").state["arn"]
    keys = {k.name.split("-")[1]: k.state["arn"] for k in run.of_type("aws:kms/key:Key")}
    return {"bucket": bucket, "staging-key": keys["staging"], "prod-key": keys["prod"]}


def requests(w: dict[str, str]) -> dict[str, Request]:
    bucket = w["bucket"]
    stacks = f"{bucket}/.pulumi/stacks/smartdairy-platform"
    key = lambda env: {"kms:ResourceAliases": [f"alias/smartdairy-{env}-state"]}  # noqa: E731
    tagged = lambda env: {"aws:ResourceTag/Environment": env}  # noqa: E731
    sm = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sd-{}-db-abc"
    own_path = "arn:aws:iam::123456789012:role/sd-staging-"
    boundary = "arn:aws:iam::123456789012:policy/smartdairy-staging-boundary"
    org_role = "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole"
    return {
        "list the state bucket": Request("s3:ListBucket", bucket),
        "read meta.yaml": Request("s3:GetObject", f"{bucket}/.pulumi/meta.yaml"),
        "read own checkpoint": Request("s3:GetObject", f"{stacks}/staging.json"),
        "read prod's checkpoint": Request("s3:GetObject", f"{stacks}/prod.json"),
        "read own history": Request("s3:GetObject", f"{bucket}/.pulumi/history/smartdairy-platform/staging/h.json"),
        "write own checkpoint": Request("s3:PutObject", f"{stacks}/staging.json"),
        "delete own checkpoint": Request("s3:DeleteObject", f"{stacks}/staging.json"),
        "take own lock": Request(
            "s3:PutObject", f"{bucket}/.pulumi/locks/organization/smartdairy-platform/staging/l.json"
        ),
        "write prod's checkpoint": Request("s3:PutObject", f"{stacks}/prod.json"),
        "change the bucket policy": Request("s3:PutBucketPolicy", bucket),
        "decrypt own state key": Request("kms:Decrypt", w["staging-key"], key("staging")),
        "encrypt with own state key": Request("kms:Encrypt", w["staging-key"], key("staging")),
        "decrypt prod's state key": Request("kms:Decrypt", w["prod-key"], key("prod")),
        "delete own state key": Request("kms:ScheduleKeyDeletion", w["staging-key"], key("staging")),
        "describe the cluster": Request("eks:DescribeCluster", "arn:aws:eks:eu-west-1:123456789012:cluster/sd-staging"),
        "read own secret (refresh)": Request("secretsmanager:GetSecretValue", sm.format("staging"), tagged("staging")),
        "read prod's secret": Request("secretsmanager:GetSecretValue", sm.format("prod"), tagged("prod")),
        "stop prod's database": Request(
            "rds:StopDBInstance", "arn:aws:rds:eu-west-1:123456789012:db:sd-prod", tagged("prod")
        ),
        "create a role with the boundary": Request(
            "iam:CreateRole", f"{own_path}x", {"iam:PermissionsBoundary": boundary}
        ),
        "create a bounded role named for prod": Request(
            "iam:CreateRole", "arn:aws:iam::123456789012:role/sd-prod-x", {"iam:PermissionsBoundary": boundary}
        ),
        "pass an own role to a service": Request("iam:PassRole", f"{own_path}node"),
        "give an own role a policy": Request(
            "iam:PutRolePolicy", f"{own_path}node", {"iam:PermissionsBoundary": boundary}
        ),
        "give the account's admin role a policy": Request("iam:AttachRolePolicy", org_role),
        "re-trust the account's admin role": Request("iam:UpdateAssumeRolePolicy", org_role),
        "tag the account's admin role as staging": Request(
            "iam:TagRole", org_role, {"aws:RequestTag/Environment": "staging"}
        ),
        "assume the account's admin role": Request("sts:AssumeRole", org_role),
        "pass the account's admin role": Request("iam:PassRole", org_role),
        "read prod's static objects": Request("s3:GetObject", "arn:aws:s3:::sd-prod-cdn-static-abc123/index.html"),
        "change prod's runner": Request(
            "codebuild:UpdateProject", "arn:aws:codebuild:eu-west-1:123456789012:project/smartdairy-prod-runner"
        ),
        "change own runner": Request(
            "codebuild:UpdateProject", "arn:aws:codebuild:eu-west-1:123456789012:project/smartdairy-staging-runner"
        ),
        "rewrite the backend's layout": Request("s3:PutObject", f"{bucket}/.pulumi/meta.yaml"),
        "create a role without a boundary": Request("iam:CreateRole", "arn:aws:iam::123456789012:role/sd-staging-x"),
        "drop a role's boundary": Request(
            "iam:DeleteRolePermissionsBoundary", "arn:aws:iam::123456789012:role/sd-staging-x"
        ),
        "trust prod's deploy role to itself": Request(
            "iam:UpdateAssumeRolePolicy", "arn:aws:iam::123456789012:role/smartdairy-prod-deploy"
        ),
        "create an access key": Request("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/x"),
        # RDS, ElastiCache, EKS and ELB make their service-linked role on first use, as the caller.
        "let RDS make its service role": Request(
            "iam:CreateServiceLinkedRole", service_role("rds", "RDS"), {"iam:AWSServiceName": "rds.amazonaws.com"}
        ),
        "make the Spot service role": Request(
            "iam:CreateServiceLinkedRole", service_role("spot", "EC2Spot"), {"iam:AWSServiceName": "spot.amazonaws.com"}
        ),
        "delete RDS's service role": Request("iam:DeleteServiceLinkedRole", service_role("rds", "RDS")),
    }


def service_role(service: str, suffix: str) -> str:
    return f"arn:aws:iam::123456789012:role/aws-service-role/{service}.amazonaws.com/AWSServiceRoleFor{suffix}"


PREVIEW_MAY = {
    "list the state bucket",
    "read meta.yaml",
    "read own checkpoint",
    "decrypt own state key",
    "describe the cluster",
    "read own secret (refresh)",
}
DEPLOY_MAY = PREVIEW_MAY | {
    "read own history",
    "write own checkpoint",
    "delete own checkpoint",
    "take own lock",
    "encrypt with own state key",
    "create a role with the boundary",
    "pass an own role to a service",
    "give an own role a policy",
    "let RDS make its service role",
}


@pytest.mark.parametrize(("role", "may"), [("preview", PREVIEW_MAY), ("deploy", DEPLOY_MAY)])
def test_staging_roles_do_what_their_job_needs_and_nothing_across(bootstrap, role, may):
    """Every request is evaluated against the role's policies (ReadOnlyAccess or AdministratorAccess,
    its state policy), its boundary and the state bucket's policy."""
    who = principal(bootstrap, f"smartdairy-staging-{role}")
    bucket_policy = json.loads(bootstrap.named("pulumi-state-policy").inputs["policy"])
    w = world(bootstrap)
    allowed = set()
    for what, request in requests(w).items():
        on_bucket = request.resource.startswith(w["bucket"])
        if who.allowed(request, bucket_policy if on_bucket else None):
            allowed.add(what)
        print(f"{role:<8} {'ALLOW' if what in allowed else 'deny ':<5} {what}")
    assert allowed == may


def test_the_state_is_named_by_who_may_reach_it(bootstrap):
    """A role staging's deploy role could create (under its path and boundary, with
    AdministratorAccess) reaches no stack's state; a state admin reaches all of it."""
    bucket_policy = json.loads(bootstrap.named("pulumi-state-policy").inputs["policy"])
    staging = principal(bootstrap, "smartdairy-staging-deploy")
    stacks = f"{world(bootstrap)['bucket']}/.pulumi/stacks/smartdairy-platform"
    created = Principal(
        f"arn:aws:iam::{ACCOUNT}:role/sd-staging-escape",
        [managed_policy("x/AdministratorAccess")],
        staging.boundary,
    )
    admin = Principal(
        f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0a1b",
        [managed_policy("x/AdministratorAccess")],
    )
    meta = f"{world(bootstrap)['bucket']}/.pulumi/meta.yaml"
    for stack in ("staging", "prod"):
        for action in ("s3:GetObject", "s3:PutObject"):
            request = Request(action, f"{stacks}/{stack}.json")
            assert not created.allowed(request, bucket_policy), (action, stack)
            assert admin.allowed(request, bucket_policy), (action, stack)
    assert admin.allowed(Request("s3:PutObject", meta), bucket_policy)
    assert not created.allowed(Request("s3:PutObject", meta), bucket_policy)


def test_sessions_cover_the_longest_up_and_builds_do_too(bootstrap):
    default = BootstrapConfig.model_fields["deploy_session_hours"].default
    hours = int(stack_config("main", BOOTSTRAP)[0].get(f"{NS}:deploySessionHours", default))
    for name, role in nonempty(roles(bootstrap).items()):
        assert role["maxSessionDuration"] == (hours * 3600 if name.endswith("-deploy") else 3600), name
    for project in nonempty(bootstrap.of_type("aws:codebuild/project:Project")):
        assert project.inputs["buildTimeout"] == hours * 60


def test_each_environment_has_a_runner_in_its_own_vpc(bootstrap):
    projects = {p.inputs["name"]: p.inputs for p in bootstrap.of_type("aws:codebuild/project:Project")}
    assert set(projects) == {"smartdairy-staging-runner", "smartdairy-prod-runner"}
    vpcs = {v.name: v.inputs["cidrBlock"] for v in bootstrap.of_type("aws:ec2/vpc:Vpc")}
    assert vpcs == {"staging-runner": "10.250.0.0/24", "prod-runner": "10.251.0.0/24"}
    for project in projects.values():
        assert project["source"]["type"] == "GITHUB" and project["source"]["auth"]["type"] == "CODECONNECTIONS"
        assert project["source"]["location"] == f"https://github.com/{REPO}"
        assert project["vpcConfig"]["subnets"] and not project["environment"].get("privilegedMode")
    for hook in bootstrap.of_type("aws:codebuild/webhook:Webhook"):
        [group] = hook.inputs["filterGroups"]
        filters = {f["type"]: f["pattern"] for f in group["filters"]}
        assert filters["EVENT"] == "WORKFLOW_JOB_QUEUED"
        names = filters["WORKFLOW_NAME"].removeprefix("^(").removesuffix(")$").split("|")
        assert set(names) == workflows_on_runners(), "a workflow the runner ignores stays queued forever"
    assert len(bootstrap.of_type("aws:ec2/natGateway:NatGateway")) == 2
    assert bootstrap.outputs["prod"]["runner"]["label"] == "codebuild-smartdairy-prod-runner"


def test_the_runner_role_holds_no_deploy_rights(bootstrap):
    """Every job on the runner can use its service role: logs, its ENIs, the GitHub connection."""
    for policy in nonempty(bootstrap.of_type("aws:iam/rolePolicy:RolePolicy")):
        if not policy.name.endswith("-runner-service"):
            continue
        actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
        assert {a.split(":")[0] for a in actions} == {"logs", "ec2", "codeconnections"}, actions
        assert not any(a.endswith("*") for a in actions)


def test_state_bucket_and_keys_pass_the_pack_and_are_protected(bootstrap):
    diagnostics = analyze(bootstrap, config={"stateful-resources-protected": {"required": True}})
    assert [d for d in diagnostics if d.level == "mandatory"] == []
    assert not [d for d in diagnostics if d.policy.startswith(("s3-", "kms-", "required-tags"))]
    assert bootstrap.one("aws:s3/bucket:Bucket").protect
    assert all(k.protect for k in bootstrap.of_type("aws:kms/key:Key"))
    assert bootstrap.outputs["stateBackend"].startswith("s3://")
    assert bootstrap.outputs["staging"]["secretsProvider"] == "awskms://alias/smartdairy-staging-state?region=eu-west-1"
    assert bootstrap.outputs["prod"]["secretsProvider"] == "awskms://alias/smartdairy-prod-state?region=eu-west-1"


def with_config(**overrides) -> dict[str, str]:
    config, _ = stack_config("main", BOOTSTRAP)
    return config | {f"{NS}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}


def test_one_account_per_environment_is_a_config_switch():
    """The prod account's bootstrap lists only prod: nothing of staging, no cross-environment denies."""
    run = run_program(
        "main",
        project_dir=BOOTSTRAP,
        config=with_config(environments={"prod": {"runnerCidr": "10.251.0.0/24", "previewFromPullRequests": False}}),
    )
    assert set(roles(run)) == {"smartdairy-prod-deploy", "smartdairy-prod-preview"}
    boundary = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert not [s for s in boundary["Statement"] if s.get("Sid", "").startswith("NoOtherEnvironment")]
    assert "staging" not in run.outputs


def test_an_account_with_the_provider_already_looks_it_up():
    run = run_program("main", project_dir=BOOTSTRAP, config=with_config(createOidcProvider="false"))
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert all(
        json.loads(r["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Federated": PROVIDER}
        for r in roles(run).values()
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"repository": "smartdairy"}, f"{NS}:repository = 'smartdairy': String should match pattern"),
        ({"repository": "smart dairy/platform"}, f"{NS}:repository = 'smart dairy/platform': String should match"),
        (
            {"environments": {"qa": {"runnerCidr": "10.252.0.0/24", "previewFromPullRequests": True}}},
            f"{NS}:environments: unknown environments qa; allowed: prod, staging",
        ),
        (
            {
                "environments": {
                    "staging": {"runnerCidr": "10.250.0.0/24", "previewFromPullRequests": True},
                    "prod": {"runnerCidr": "10.250.0.0/25", "previewFromPullRequests": False},
                }
            },
            f"{NS}:environments.staging.runnerCidr: overlaps environments.prod.runnerCidr",
        ),
        (
            {"environments": {"prod": {"runnerCidr": "8.8.8.0/24", "previewFromPullRequests": False}}},
            f"{NS}:environments.prod.runnerCidr = '8.8.8.0/24': expected a private IPv4 range",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_key(overrides, problem):
    with pytest.raises(ConfigError) as caught:
        run_program("main", project_dir=BOOTSTRAP, config=with_config(**overrides))
    [line] = caught.value.problems
    assert line.startswith(problem), line


def test_key_administrators_are_role_arns_never_sessions():
    """aws:PrincipalArn carries a role's ARN: a state admin given as an assumed-role session
    becomes its role, with or without a path."""
    from components.aws.kms import principal_arns

    assert principal_arns(["arn:aws:sts::123456789012:assumed-role/Admin/*", "arn:aws:iam::123456789012:role/ops"]) == [
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws:iam::123456789012:role/*/Admin",
        "arn:aws:iam::123456789012:role/ops",
    ]


def test_the_bootstrap_makes_the_account_roles_and_keeps_them(bootstrap):
    """Spot's (Karpenter may not make it) and OpenSearch's (a VPC domain needs it first), once
    per account, kept when the bootstrap is destroyed."""
    roles = nonempty(bootstrap.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole"))
    assert {r.inputs["awsServiceName"] for r in roles} == {"spot.amazonaws.com", "opensearchservice.amazonaws.com"}
    assert all(r.retain_on_delete for r in roles)


def test_an_unknown_service_role_is_refused_naming_the_key():
    config, _ = stack_config("main", BOOTSTRAP)
    config[f"{NS}:serviceLinkedRoles"] = json.dumps(["spot.amazonaws.com", "ec2.amazonaws.com"])
    pulumi.runtime.set_all_config(config, [])
    with pytest.raises(ConfigError) as caught:
        load_config(BootstrapConfig, NS)
    [problem] = caught.value.problems
    assert problem.startswith(f"{NS}:serviceLinkedRoles") and "unknown services ec2.amazonaws.com" in problem


def workflows_on_runners() -> set[str]:
    """The `name:` of every workflow with a job on an environment's CodeBuild runner."""
    found = set()
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        workflow = yaml.safe_load(path.read_text())
        if any(str(job.get("runs-on", "")).startswith("codebuild-") for job in workflow["jobs"].values()):
            found.add(workflow["name"])
    return found
