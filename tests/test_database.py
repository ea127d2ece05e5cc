"""RDS PostgreSQL as registered per stack."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning, preload_problems
from synth.mock_runtime import run_callable
from tests.conftest import PROJECT, program_run, section, section_problems
from tests.harness.checks import sample_key_access as key_access

INSTANCE = "aws:rds/instance:Instance"


def parameters(run) -> dict[str, tuple[str, str]]:
    group = run.one("aws:rds/parameterGroup:ParameterGroup").inputs
    return {p["name"]: (p["value"], p["applyMethod"]) for p in group["parameters"]}


def primary(run):
    return run.named(f"sd-{run.stack}-db-primary", INSTANCE)


def replicas(run):
    return [r for r in run.of_type(INSTANCE) if "-replica-" in r.name]


def test_parameter_group_keeps_pg_stat_statements_and_audit_settings(run):
    params = parameters(run)
    assert run.one("aws:rds/parameterGroup:ParameterGroup").inputs["family"] == "postgres16"
    assert "pg_stat_statements" in params["shared_preload_libraries"][0].split(",")
    assert params["pg_stat_statements.track"] == ("all", "immediate")
    assert params["track_io_timing"] == ("1", "immediate")
    assert params["log_lock_waits"] == ("1", "immediate")
    assert params["random_page_cost"][0] == "1.1" and int(params["effective_io_concurrency"][0]) >= 200
    for name in ("idle_in_transaction_session_timeout", "work_mem", "maintenance_work_mem"):
        assert int(params[name][0]) > 0
    db = section(run.stack, "database")
    assert params["max_connections"] == (str(db["maxConnections"]), "pending-reboot")
    assert params["log_min_duration_statement"] == (str(db["slowQueryMs"]), "immediate")
    for static in ("shared_preload_libraries", "max_connections", "pg_stat_statements.max"):
        assert params[static][1] == "pending-reboot"


def test_primary_is_encrypted_private_and_observable(run):
    p = primary(run).inputs
    key = run.named(f"sd-{run.stack}-db-key", "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    key_arn = key.state["arn"]
    assert p["storageEncrypted"] is True and p["kmsKeyId"] == key_arn
    assert p["performanceInsightsEnabled"] is True and p["performanceInsightsKmsKeyId"] == key_arn
    assert p["monitoringInterval"] == 60 and p["monitoringRoleArn"].startswith("arn:aws:iam:")
    assert p["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert p["iamDatabaseAuthenticationEnabled"] is True and p["autoMinorVersionUpgrade"] is True
    assert p["publiclyAccessible"] is False and p["copyTagsToSnapshot"] is True
    assert p["username"] not in ("postgres", "admin", "root") and p["storageType"] == "gp3"
    assert p["maxAllocatedStorage"] > p["allocatedStorage"]
    assert p["engine"] == "postgres" and p["engineVersion"] == "16"


def test_prod_primary_is_multi_az_and_deletion_protected(prod):
    p = primary(prod).inputs
    assert p["multiAz"] is True and p["deletionProtection"] is True
    assert p["skipFinalSnapshot"] is False
    assert re.fullmatch(r"sd-prod-db-primary-final-[0-9a-f]{8}", p["finalSnapshotIdentifier"])
    assert p["backupRetentionPeriod"] == 14 and p["iops"] == 12000


def test_staging_is_smaller_and_deletable(staging):
    p = primary(staging).inputs
    assert p["multiAz"] is False and p["deletionProtection"] is False and p["skipFinalSnapshot"] is True
    assert p["instanceClass"] == "db.t4g.large" and "iops" not in p


@pytest.mark.parametrize("stack,count", [("staging", 1), ("prod", 3)])
def test_replicas_follow_the_primary_in_distinct_azs(stack, count):
    run = program_run(stack)
    found = replicas(run)
    assert len(found) == count
    assert len({r.inputs["availabilityZone"] for r in found}) == count
    for replica in found:
        assert replica.inputs["replicateSourceDb"] == primary(run).state["identifier"]
        assert replica.inputs["parameterGroupName"] == primary(run).inputs["parameterGroupName"]
        assert replica.inputs["performanceInsightsEnabled"] is True and replica.inputs["monitoringInterval"] == 60
        assert "password" not in replica.inputs and "username" not in replica.inputs


def test_only_pgbouncer_the_bootstrap_jobs_and_the_rotation_reach_port_5432(run):
    """Odoo and the gateway go through PgBouncer; the nodes reach nothing."""
    rules = [r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-db-sg-" in r.name]
    sources = {r.inputs["referencedSecurityGroupId"] for r in rules}
    pods = {f"sd-{run.stack}-pods-pgbouncer-id", f"sd-{run.stack}-pods-db-bootstrap-id"}
    assert sources == pods | {f"sd-{run.stack}-credential-rotation-sg-id"}
    for rule in rules:
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] == 5432
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    sg = run.named(f"sd-{run.stack}-db-sg", "aws:ec2/securityGroup:SecurityGroup").inputs
    assert not sg.get("ingress") and not sg.get("egress")
    assert primary(run).inputs["vpcSecurityGroupIds"] == [f"sd-{run.stack}-db-sg-id"]


def test_master_password_is_secret_everywhere(run):
    password = run.named(f"sd-{run.stack}-db-master-password").state["result"]
    assert "password" in primary(run).secret_paths
    secret_version = run.named(f"sd-{run.stack}-db-master", "aws:secretsmanager/secretVersion:SecretVersion")
    assert "secretString" in secret_version.secret_paths
    assert json.loads(secret_version.plain_inputs["secretString"])["password"] == password
    dumped = json.dumps([r.to_json() for r in run.resources])
    assert password not in dumped
    assert password not in json.dumps(run.outputs)
    password_resource = run.named(f"sd-{run.stack}-db-master-password").inputs
    assert "@" not in password_resource["overrideSpecial"] and "/" not in password_resource["overrideSpecial"]


def test_synth_artifacts_hold_no_secret_value(tmp_path):
    """Everything synth writes (inventory, manifests, estimate), written by synth's own functions
    from this session's run, whose generated values are known here."""
    from tools.synth import estimate, write_artifacts, write_estimate

    run = program_run("prod")
    write_artifacts(run, tmp_path / "prod")
    write_estimate(estimate(run), tmp_path / "prod")
    written = [p for p in (tmp_path / "prod").rglob("*") if p.is_file()]
    text = "\n".join(p.read_text() for p in written)
    generated = [r.state["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")]
    assert len(written) > 50 and generated and not [value for value in generated if value in text]
    assert '"[secret]"' in text


@pytest.mark.parametrize("stack,protected", [("staging", False), ("prod", True)])
def test_stateful_resources_protected_in_prod(stack, protected):
    run = program_run(stack)
    stateful = [
        *run.of_type(INSTANCE),
        run.named(f"sd-{stack}-db-key", "aws:kms/key:Key"),
        run.named(f"sd-{stack}-db-master", "aws:secretsmanager/secret:Secret"),
    ]
    assert {r.protect for r in stateful} == {protected}


def test_component_outputs_password_only_as_secret():
    def program():
        db = PostgresDatabase(
            "t",
            PostgresDatabaseArgs(
                vpc_id="vpc-1",
                key_access=key_access(),
                subnet_group_name="db-subnets",
                availability_zones=["eu-west-1a", "eu-west-1b"],
                client_security_groups={"app": "sg-app"},
                engine_version="15",
                auto_minor_version_upgrade=True,
                instance_class="db.t4g.medium",
                replica_instance_class=None,
                replicas=1,
                multi_az=False,
                tuning=PostgresTuning(100, 200, 60000, 4096, 65536),
                allocated_storage_gb=20,
                max_allocated_storage_gb=40,
                iops=None,
                storage_throughput_mbps=None,
                backup_retention_days=7,
                backup_window="02:00-03:00",
                maintenance_window="sun:03:30-sun:04:30",
                deletion_protection=False,
                final_snapshot=False,
                delete_automated_backups=True,
                performance_insights_retention_days=7,
                monitoring_interval_s=60,
                secret_recovery_window_days=0,
                protect=False,
            ),
        )
        pulumi.export("maxConnections", db.max_connections)

    run = run_callable(program)
    # The first master password reaches only the instance and its secret, both as secrets.
    assert "masterPassword" not in run.outputs and "maxConnections" not in run.secret_outputs
    assert "password" in next(r for r in run.of_type(INSTANCE) if r.name == "t-primary").secret_paths
    assert "secretString" in run.one("aws:secretsmanager/secretVersion:SecretVersion").secret_paths
    assert run.outputs["maxConnections"] == 100
    assert run.one("aws:rds/parameterGroup:ParameterGroup").inputs["family"] == "postgres15"


def test_preload_check_catches_a_replaced_library_list():
    assert preload_problems({"shared_preload_libraries": "auto_explain"}) == [
        "shared_preload_libraries must keep pg_stat_statements (the audit queries read it)"
    ]
    assert preload_problems({"shared_preload_libraries": "pg_stat_statements, auto_explain"}) == []


def test_gp3_iops_below_400_gb_is_refused():
    [problem] = section_problems("prod", "database", allocatedStorageGb=100, maxAllocatedStorageGb=200)
    assert problem.startswith(f"{PROJECT}:database: iops/storageThroughputMbps need allocatedStorageGb >= 400")


def test_autoscaling_ceiling_below_allocation_is_refused():
    [problem] = section_problems("prod", "database", maxAllocatedStorageGb=100)
    assert "maxAllocatedStorageGb (100) must be >= allocatedStorageGb (500)" in problem


def test_instance_class_and_monitoring_interval_are_checked():
    problems = section_problems("prod", "database", instanceClass="r7g.2xlarge", monitoringIntervalS=7)
    assert any(p.startswith(f"{PROJECT}:database.instanceClass = 'r7g.2xlarge'") for p in problems)
    assert any(
        p.startswith(f"{PROJECT}:database.monitoringIntervalS = 7: Input should be 1, 5, 10, 15, 30 or 60")
        for p in problems
    )


def test_unknown_database_key_is_refused():
    [problem] = section_problems("prod", "database", replica=2)
    assert problem.startswith(f"{PROJECT}:database.replica: unknown key; allowed keys:") and "replicas" in problem
