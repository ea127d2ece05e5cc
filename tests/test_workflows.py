"""The GitHub workflows: valid against GitHub's workflow schema (check-jsonschema's vendored copy,
offline), every action pinned by commit, least permissions per job, and the fork-safe split of
the pull-request flow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.harness.checks import nonempty

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True.
    return {
        ("on" if k is True else k): v
        for k, v in yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text()).items()
    }


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_the_workflows_validate_against_githubs_schema():
    assert {p.name for p in WORKFLOWS} == {
        "pull-request.yml",
        "pr-plan-comment.yml",
        "deploy.yml",
        "drift.yml",
        "load-test.yml",
    }
    binary = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert binary, "check-jsonschema is not installed: make install"
    done = subprocess.run(
        [binary, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version_noted(path):
    for line in nonempty(path.read_text().splitlines()):
        if "uses:" in line:
            ref, _, comment = line.split("uses:", 1)[1].strip().partition(" # ")
            assert PINNED.match(ref), line
            assert re.fullmatch(r"v\d+\.\d+\.\d+", comment), f"no version comment: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_granted_per_job_and_nothing_by_default(path):
    workflow = load(path.name)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"]) and job["permissions"] != "write-all"


def test_no_workflow_runs_pull_request_code_with_secrets():
    for path in WORKFLOWS:
        assert "pull_request_target" not in load(path.name)["on"], path.name
    pr = load("pull-request.yml")
    assert pr["jobs"]["plan"]["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(pr["jobs"]["plan"])
    # The real preview needs AWS: only branches of this repository get it.
    assert pr["jobs"]["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    comment = load("pr-plan-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["pull request"], "types": ["completed"]}}
    assert not any("checkout" in step.get("uses", "") for step in steps(comment))  # never the PR's code


def test_previews_and_deploys_apply_the_policy_pack_with_the_capacity_figures():
    for name in ("pull-request.yml", "deploy.yml", "load-test.yml"):
        runs = [s["with"] for s in steps(load(name)) if s.get("uses", "").startswith("pulumi/actions@")]
        assert runs
        for inputs in runs:
            assert inputs["policyPacks"] == "policies"
            assert re.fullmatch(
                r"build/(\$\{\{ matrix.stack \}\}|staging|prod)/policy-config.json", inputs["policyPackConfigs"]
            )


def test_deploys_go_staging_then_prod_one_at_a_time_without_long_lived_keys():
    jobs = load("deploy.yml")["jobs"]
    assert jobs["prod"]["needs"] == "staging" and jobs["prod"]["environment"] == "prod"
    for stack, job in jobs.items():
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
        assert job["permissions"]["id-token"] == "write"
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text


def test_drift_expects_no_changes_and_files_an_issue():
    workflow = load("drift.yml")
    preview = next(s for s in steps(workflow) if s.get("id") == "preview")
    assert preview["with"]["refresh"] is True and preview["with"]["expect-no-changes"] is True
    assert "schedule" in workflow["on"]
    assert workflow["jobs"]["drift"]["permissions"]["issues"] == "write"


def role_steps():
    """(workflow, job name, job, configure-aws-credentials inputs) for every job that assumes a role."""
    for path in WORKFLOWS:
        for name, job in load(path.name)["jobs"].items():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                    yield path.name, name, job, step["with"]


def test_every_job_with_aws_runs_on_its_environments_runner_with_its_environments_role():
    """A cluster's private API is reachable only from its environment's runner (bootstrap/), and a
    job assumes only that environment's roles: deploys in their GitHub environment, previews outside."""
    seen = set()
    for workflow, name, job, inputs in role_steps():
        role = inputs["role-to-assume"]
        if "matrix" in role:  # drift: one entry per stack, each naming its own variables
            entries = [(e["stack"], f"${{{{ vars.{e['role']} }}}}") for e in job["strategy"]["matrix"]["include"]]
            assert "${{ matrix.stack }}" in job["runs-on"]
        else:
            entries = [("staging" if "STAGING" in role else "prod", role)]
        for env, role_var in entries:
            kind = "DEPLOY" if job.get("environment") else "PREVIEW"
            assert role_var == f"${{{{ vars.{env.upper()}_{kind}_ROLE_ARN }}}}", (workflow, name)
            runner = job["runs-on"].replace("${{ matrix.stack }}", env)
            assert runner == f"codebuild-smartdairy-{env}-runner-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"
            if kind == "DEPLOY":
                assert job["environment"] == env
            seen.add((workflow, env, kind))
    assert seen == {
        ("deploy.yml", "staging", "DEPLOY"),
        ("deploy.yml", "prod", "DEPLOY"),
        ("load-test.yml", "staging", "DEPLOY"),
        ("drift.yml", "staging", "PREVIEW"),
        ("drift.yml", "prod", "PREVIEW"),
        ("pull-request.yml", "staging", "PREVIEW"),  # prod's preview role trusts main only
    }


def test_sessions_last_as_long_as_the_longest_up():
    from stacks.schema.delivery import BootstrapConfig

    hours = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.main.yaml").read_text())["config"].get(
        "smartdairy-bootstrap:deploySessionHours", BootstrapConfig.model_fields["deploy_session_hours"].default
    )
    for workflow, name, job, inputs in nonempty(role_steps()):
        expected = hours * 3600 if job.get("environment") else 3600
        assert inputs["role-duration-seconds"] == expected, (workflow, name)


def test_every_pulumi_run_uses_the_cli_the_sdk_was_tested_with():
    [pin] = [
        line.split("==")[1]
        for line in (ROOT / "requirements.in").read_text().splitlines()
        if line.startswith("pulumi==")
    ]
    runs = [s for p in WORKFLOWS for s in steps(load(p.name)) if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(runs) == 6
    assert {str(s["with"]["pulumi-version"]) for s in runs} == {pin}


def test_the_plan_comment_finds_its_pull_request_from_the_api_never_the_artifact():
    comment = load("pr-plan-comment.yml")
    text = (ROOT / ".github" / "workflows" / "pr-plan-comment.yml").read_text()
    [finder, download, sticky] = steps(comment)
    assert finder["uses"].startswith("actions/github-script@")
    script = finder["with"]["script"]
    assert "pulls.list" in script and "p.head.sha === run.head_sha" in script
    assert sticky["with"]["number"] == "${{ steps.pr.outputs.result }}"
    assert download["if"] == sticky["if"] == "steps.pr.outputs.result != ''"
    assert "pr-number" not in text and "pr-number" not in (ROOT / ".github/workflows/pull-request.yml").read_text()


def test_installs_are_hash_checked():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.txt" in makefile
    assert "--require-hashes -r requirements-scan.txt" in makefile
    for lock in ("requirements.txt", "requirements-dev.txt", "requirements-scan.txt", "policies/requirements.txt"):
        pins = [line for line in (ROOT / lock).read_text().splitlines() if re.match(r"^[A-Za-z0-9_.-]+==", line)]
        assert pins and all(line.endswith("\\") for line in pins), lock  # every pin continues with its hashes


def test_the_load_test_runs_on_staging_only_and_always_turns_itself_off():
    """Between its two ups it holds staging's deploy lock; whatever fails, the data is archived
    and the second up runs from main's file (the load test off)."""
    workflow = load("load-test.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    [job] = workflow["jobs"].values()
    assert job["environment"] == "staging" and job["concurrency"]["group"] == "deploy-staging"
    run = [s.get("run", s.get("uses", "")) for s in job["steps"]]
    ups = [i for i, s in enumerate(job["steps"]) if s.get("uses", "").startswith("pulumi/actions@")]
    enable = next(i for i, r in enumerate(run) if "load_test.py enable staging" in r)
    restore = next(i for i, r in enumerate(run) if r == "git checkout -- Pulumi.staging.yaml")
    cleanup = next(i for i, r in enumerate(run) if "load_test.py cleanup" in r)
    assert enable < ups[0] < cleanup < restore < ups[1] == len(run) - 1
    assert all(job["steps"][i].get("if") == "always()" for i in (cleanup, restore, ups[1]))
    assert "prod" not in (ROOT / ".github/workflows/load-test.yml").read_text().replace("production", "")


def test_prod_deploys_only_within_the_error_budget_or_with_a_recorded_reason():
    workflow = load("deploy.yml")
    prod = workflow["jobs"]["prod"]["steps"]
    gate = next(i for i, step in enumerate(prod) if "slo_report.py prod --gate" in step.get("run", ""))
    up = next(i for i, step in enumerate(prod) if step.get("uses", "").startswith("pulumi/actions@"))
    assert gate < up and "--override-reason" in prod[gate]["run"]
    assert prod[gate]["env"]["OVERRIDE_REASON"] == "${{ inputs.budget_override_reason }}"
    assert "budget_override_reason" in workflow["on"]["workflow_dispatch"]["inputs"]
    assert not any("--gate" in step.get("run", "") for step in workflow["jobs"]["staging"]["steps"])
