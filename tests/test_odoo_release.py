"""The Odoo release Job: a snapshot of the primary, then `odoo -i/-u --stop-after-init` and the
public address, before the pods of a new image start. The shell steps run here against stand-in
`aws` and `odoo` commands that record what they are asked; the IAM policy is evaluated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from components.apps.odoo_release import snapshot_command, upgrade_command
from tests.conftest import section
from tests.harness.checks import nonempty
from tests.harness.iam import Principal, Request
from tests.test_deploy_readiness import waits_for

JOB = "kubernetes:batch/v1:Job"


def release_job(run):
    return run.named(f"sd-{run.stack}-odoo-release-job", JOB)


def recorder(tmp_path: Path, name: str, body: str) -> Path:
    """A stand-in command on PATH that appends its arguments (and stdin) to <name>.log."""
    script = tmp_path / "bin" / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/{name}.log\n{body}\n')
    script.chmod(0o755)
    return script


def run_shell(tmp_path: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    return subprocess.run(["/bin/sh", "-c", command], env={"PATH": path, **env}, capture_output=True, text=True)


#: A stand-in `aws` for the RDS calls the snapshot step makes: snapshots live in a JSON file,
#: queries are evaluated with JMESPath as the CLI does, `--output text` joins with tabs.
FAKE_AWS = """#!{python}
import json, sys, jmespath
state_file = {state!r}
args = sys.argv[1:]
open({log!r}, "a").write(" ".join(args) + "\\n")
state = json.load(open(state_file))
opt = lambda name: args[args.index(name) + 1] if name in args else None
command = args[1]
if command == "describe-db-snapshots" and opt("--db-snapshot-identifier"):
    sys.exit(0 if any(s["DBSnapshotIdentifier"] == opt("--db-snapshot-identifier") for s in state) else 1)
if command == "describe-db-snapshots":
    mine = [s for s in state if s["DBInstanceIdentifier"] == opt("--db-instance-identifier")]
    found = jmespath.search(opt("--query"), {{"DBSnapshots": mine}})
    print("\\t".join(found) if isinstance(found, list) else found)
elif command == "create-db-snapshot":
    state.append({{"DBSnapshotIdentifier": opt("--db-snapshot-identifier"),
                  "DBInstanceIdentifier": opt("--db-instance-identifier"),
                  "SnapshotCreateTime": str(len(state) + 100)}})
elif command == "delete-db-snapshot":
    state = [s for s in state if s["DBSnapshotIdentifier"] != opt("--db-snapshot-identifier")]
elif command != "wait":
    sys.exit(2)
json.dump(state, open(state_file, "w"))
"""


def fake_aws(tmp_path: Path, snapshots: list[dict]) -> Path:
    state = tmp_path / "snapshots.json"
    state.write_text(json.dumps(snapshots))
    script = tmp_path / "bin" / "aws"
    script.parent.mkdir(exist_ok=True)
    script.write_text(FAKE_AWS.format(python=sys.executable, state=str(state), log=str(tmp_path / "aws.log")))
    script.chmod(0o755)
    return state


def snapshot(name: str, instance: str, created: str) -> dict[str, str]:
    return {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": instance, "SnapshotCreateTime": created}


def release_env(n: int) -> dict[str, str]:
    return {"DB_INSTANCE": "sd-prod-db-primary", "SNAPSHOT": f"sd-prod-db-primary-odoo-release-{n}", "RELEASE": f"r{n}"}


def test_the_snapshot_is_taken_once_awaited_and_only_the_newest_three_stay(tmp_path):
    """Another instance's snapshots and non-release snapshots are never touched."""
    others = [
        snapshot("manual-before-migration", "sd-prod-db-primary", "1"),
        snapshot("sd-prod-db-replica-odoo-release-x", "sd-prod-db-replica", "2"),
    ]
    state = fake_aws(tmp_path, others)
    for n in range(1, 6):
        assert run_shell(tmp_path, snapshot_command(), release_env(n)).returncode == 0
    # A retried pod of release 5 finds its snapshot and takes no other.
    assert run_shell(tmp_path, snapshot_command(), release_env(5)).returncode == 0
    names = sorted(s["DBSnapshotIdentifier"] for s in json.loads(state.read_text()))
    kept = [f"sd-prod-db-primary-odoo-release-{n}" for n in (3, 4, 5)]
    assert names == sorted([*kept, "manual-before-migration", "sd-prod-db-replica-odoo-release-x"])
    creates = [line for line in (tmp_path / "aws.log").read_text().splitlines() if "create-db-snapshot" in line]
    assert len(creates) == 5


def test_a_failed_snapshot_stops_the_release(tmp_path):
    recorder(tmp_path, "aws", 'case "$2" in create-db-snapshot) exit 255;; describe-db-snapshots) exit 1;; esac')
    env = {"DB_INSTANCE": "db", "SNAPSHOT": "db-odoo-release-1", "RELEASE": "r1"}
    assert run_shell(tmp_path, snapshot_command(), env).returncode != 0
    assert "wait" not in (tmp_path / "aws.log").read_text()


def test_the_upgrade_installs_what_plan_says_stops_then_freezes_the_public_address(tmp_path):
    recorder(tmp_path, "python3", "echo --init=website_sale --update=base,sale_management")
    recorder(tmp_path, "odoo", f'[ "$1" = shell ] && cat >> {tmp_path}/shell.py; exit 0')
    env = {"DB_HOST": "pgbouncer-session", "BASE_URL": "https://erp.example.com", "MODULES": "base"}
    done = run_shell(tmp_path, upgrade_command("/run/odoo/odoo.conf"), env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "python3.log").read_text().split() == ["/etc/odoo-release/plan.py", "/run/odoo/odoo.conf"]
    install, shell = (tmp_path / "odoo.log").read_text().splitlines()
    assert install.split() == [
        "-c", "/run/odoo/odoo.conf", "--db_host=pgbouncer-session", "--no-http",
        "--init=website_sale", "--update=base,sale_management", "--without-demo=all", "--stop-after-init",
    ]  # fmt: skip
    assert shell.startswith("shell -c /run/odoo/odoo.conf")
    # What `odoo shell` runs, against a stand-in env: both parameters, then a commit.
    calls: list = []
    params = type("Params", (), {"set_param": lambda self, k, v: calls.append((k, v))})()
    cursor = type("Cursor", (), {"commit": lambda self: calls.append("commit")})()
    models = type("Models", (), {"sudo": lambda self: params})()
    env_object = type("Env", (), {"__getitem__": lambda self, key: models, "cr": cursor})()
    os.environ["BASE_URL"] = env["BASE_URL"]
    try:
        exec((tmp_path / "shell.py").read_text(), {"env": env_object})
    finally:
        del os.environ["BASE_URL"]
    assert calls == [("web.base.url", "https://erp.example.com"), ("web.base.url.freeze", "True"), "commit"]


def test_a_failed_plan_or_upgrade_sets_nothing(tmp_path):
    recorder(tmp_path, "python3", "exit 1")
    recorder(tmp_path, "odoo", "exit 0")
    env = {"DB_HOST": "h", "BASE_URL": "https://x", "MODULES": "base"}
    assert run_shell(tmp_path, upgrade_command("/c"), env).returncode != 0
    assert not (tmp_path / "odoo.log").exists()
    recorder(tmp_path, "python3", "echo --update=base")
    recorder(tmp_path, "odoo", '[ "$1" = shell ] || exit 1')
    assert run_shell(tmp_path, upgrade_command("/c"), env).returncode != 0
    assert len((tmp_path / "odoo.log").read_text().splitlines()) == 1


def test_the_job_snapshots_then_renders_then_upgrades_with_the_released_image(run):
    job = release_job(run).plain_inputs
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["snapshot", "render-config"]
    [upgrade] = pod["containers"]
    odoo_image = run.named(f"sd-{run.stack}-odoo-web", "kubernetes:apps/v1:Deployment").plain_inputs
    image = odoo_image["spec"]["template"]["spec"]["containers"][0]["image"]
    assert upgrade["image"] == image and pod["initContainers"][1]["image"] == image
    env = {e["name"]: e["value"] for e in upgrade["env"]}
    assert env["DB_HOST"] == "pgbouncer-session" and env["BASE_URL"].startswith("https://erp.")
    assert env["MODULES"] == ",".join(section(run.stack, "workloads")["odoo"]["modules"])
    mounts = {m["name"] for m in upgrade["volumeMounts"]}
    assert "filestore" in mounts  # an install writes attachments to the shared filestore
    assert job["spec"]["backoffLimit"] >= 1 and pod["restartPolicy"] == "Never"


def test_new_pods_start_only_after_their_release(run):
    job = release_job(run)
    for name in ("odoo-web", "odoo-longpolling"):
        deployment = run.named(f"sd-{run.stack}-{name}", "kubernetes:apps/v1:Deployment")
        annotations = deployment.plain_inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations["smartdairy.io/odoo-release"] == job.plain_inputs["metadata"]["name"]
        assert waits_for(run, deployment, job), name


def test_the_release_identity_snapshots_its_primary_only(run):
    policy = json.loads(
        run.named(f"sd-{run.stack}-odoo-release-identity", "aws:iam/rolePolicy:RolePolicy").inputs["policy"]
    )
    primary = run.named(f"sd-{run.stack}-db-primary", "aws:rds/instance:Instance")
    arn, identifier = primary.state["arn"], primary.state["identifier"]
    snapshots = arn.rsplit(":db:", 1)[0] + ":snapshot:"
    who = Principal("arn:aws:iam::123456789012:role/release", [policy])
    assert who.allowed(Request("rds:CreateDBSnapshot", arn))
    assert who.allowed(Request("rds:CreateDBSnapshot", f"{snapshots}{identifier}-odoo-release-abc"))
    assert who.allowed(Request("rds:AddTagsToResource", f"{snapshots}{identifier}-odoo-release-abc"))
    assert not who.allowed(Request("rds:CreateDBSnapshot", f"{snapshots}someone-elses"))
    assert who.allowed(Request("rds:DeleteDBSnapshot", f"{snapshots}{identifier}-odoo-release-abc"))
    assert not who.allowed(Request("rds:DeleteDBSnapshot", f"{snapshots}manual-before-migration"))
    assert not who.allowed(Request("rds:DeleteDBInstance", arn))
    assert not who.allowed(Request("rds:RestoreDBInstanceFromDBSnapshot", "*"))


def test_pgbouncer_admits_the_release_jobs_pods(run):
    policies = nonempty(
        p.plain_inputs
        for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if "pgbouncer" in json.dumps(p.plain_inputs["spec"].get("podSelector", {}))
    )
    admitted = json.dumps([p["spec"].get("ingress", []) for p in policies])
    assert '"app.kubernetes.io/name": "odoo-release"' in admitted
