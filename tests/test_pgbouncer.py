"""PgBouncer as registered per stack, and the connection budget arithmetic."""

from __future__ import annotations

import dataclasses
import json
import subprocess

from components.apps.database_bootstrap_sql import AUTH_QUERY
from components.apps.pgbouncer_config import (
    CLIENT_SSLMODE,
    CONFIG_DIR,
    ClientDemand,
    IniSettings,
    PoolRole,
    ServerTimeouts,
    Target,
    connection_budget,
    render_auth_command,
    render_ini,
)
from components.data.rds_trust import BUNDLE_KEY, ca_bundle
from tests.conftest import PROJECT, load_config, section, section_problems, stack_file_config
from tests.harness.checks import nonempty

DEMAND = ClientDemand(20, 4, 8, 3, 15, 10)


def deployments(run):
    return {
        d.inputs["metadata"]["name"]: d
        for d in run.of_type("kubernetes:apps/v1:Deployment")
        if d.inputs["metadata"]["name"].startswith("pgbouncer-")
    }


def ini(run, role: str) -> str:
    maps = {c.inputs["metadata"]["name"]: c for c in run.of_type("kubernetes:core/v1:ConfigMap")}
    return maps[f"pgbouncer-{role}"].inputs["data"]["pgbouncer.ini"]


def test_three_pools_with_the_right_modes_and_targets(run):
    assert set(deployments(run)) == {"pgbouncer-rw", "pgbouncer-ro", "pgbouncer-session"}
    assert "pool_mode = transaction" in ini(run, "rw") and "pool_mode = transaction" in ini(run, "ro")
    assert "pool_mode = session" in ini(run, "session")
    assert f"host=sd-{run.stack}-db-primary." in ini(run, "rw")
    assert f"host=sd-{run.stack}-db-primary." in ini(run, "session")
    assert f"host=sd-{run.stack}-db-replica-1." in ini(run, "ro") and "db-primary" not in ini(run, "ro")


def test_pgbouncer_verifies_rds_with_the_regions_roots_from_its_configmap(run):
    """verify-full against the ConfigMap's bundle, which holds exactly the region's RDS roots and
    is mounted where the ini looks; the pods roll when it changes."""
    maps = {c.inputs["metadata"]["name"]: c.inputs["data"] for c in run.of_type("kubernetes:core/v1:ConfigMap")}
    for role in ("rw", "ro", "session"):
        settings = dict(line.split(" = ", 1) for line in ini(run, role).splitlines() if " = " in line)
        assert settings["server_tls_sslmode"] == "verify-full"
        assert settings["server_tls_ca_file"] == f"{CONFIG_DIR}/{BUNDLE_KEY}"
        assert maps[f"pgbouncer-{role}"][BUNDLE_KEY] == ca_bundle(run.config["aws:region"])
        pod = deployments(run)[f"pgbouncer-{role}"].inputs["spec"]["template"]
        mounts = {m["name"]: m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
        assert mounts["config"] == CONFIG_DIR
        assert "checksum/config" in pod["metadata"]["annotations"]


def test_applications_reach_pgbouncer_over_tls_only(run):
    """The apps' logins are hostssl lines; the pod makes its key at start; Odoo and the gateway ask for TLS."""
    maps = {c.inputs["metadata"]["name"]: c.inputs["data"] for c in run.of_type("kubernetes:core/v1:ConfigMap")}
    hba = maps["pgbouncer-rw"]["pg_hba.conf"].splitlines()
    # The application's database, and `postgres`, which leads to it (Odoo's start-up check).
    assert [line for line in hba if "scram-sha-256" in line] == [
        "hostssl odoo all 0.0.0.0/0 scram-sha-256",
        "hostssl postgres all 0.0.0.0/0 scram-sha-256",
    ]
    rendered = ini(run, "rw")
    assert (
        "\npostgres = host=" in rendered and "dbname=odoo pool_size=2 reserve_pool=0 max_db_connections=2" in rendered
    )
    init = deployments(run)["pgbouncer-rw"].inputs["spec"]["template"]["spec"]["initContainers"][0]
    assert "openssl req -x509" in init["command"][-1] and "-keyout /run/pgbouncer/client-tls.key" in init["command"][-1]
    assert "client_tls_key_file = /run/pgbouncer/client-tls.key" in ini(run, "rw")
    gateway = next(
        d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "api-gateway"
    )
    env = {e["name"]: e.get("value") for e in gateway.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGSSLMODE"] == CLIENT_SSLMODE == "require"
    for conf in ("odoo.conf", "odoo-bus.conf"):
        assert f"db_sslmode = {CLIENT_SSLMODE}" in maps["odoo-config"][conf]


def test_prod_ro_pool_spreads_over_both_replicas(prod):
    line = next(line for line in ini(prod, "ro").splitlines() if line.startswith("odoo = "))
    assert "sd-prod-db-replica-1." in line and "sd-prod-db-replica-2." in line


def test_services_named_for_each_role(run):
    services = {s.inputs["metadata"]["name"]: s.inputs["spec"] for s in run.of_type("kubernetes:core/v1:Service")}
    for role in ("rw", "ro", "session"):
        spec = services[f"pgbouncer-{role}"]
        assert spec["type"] == "ClusterIP"
        assert {"name": "postgres", "port": 5432, "targetPort": "postgres"} in spec["ports"]
        assert spec["selector"]["app.kubernetes.io/instance"] == f"pgbouncer-{role}"


def test_pgbouncer_gets_no_credential_from_the_program(run):
    """No Kubernetes Secret, no password in its ConfigMaps: the auth_user's current name and
    password come from its Secrets Manager secret, mounted by the CSI driver with the pods' own
    identity and turned into the include and auth file by an init container."""
    master = run.named(f"sd-{run.stack}-db-master-password").state["result"]
    for config_map in run.of_type("kubernetes:core/v1:ConfigMap"):
        assert master not in json.dumps(config_map.plain_inputs)
    assert not [s for s in run.of_type("kubernetes:core/v1:Secret") if "pgbouncer" in s.inputs["metadata"]["name"]]
    provider_class = run.named("pgbouncer-auth-provider-class")
    assert provider_class.inputs["spec"]["parameters"]["usePodIdentity"] == "true"
    auth_secret = run.named(f"sd-{run.stack}-db-credentials-auth_user")
    assert auth_secret.state["arn"] in provider_class.inputs["spec"]["parameters"]["objects"]
    for deployment in nonempty(deployments(run).values()):
        init = deployment.inputs["spec"]["template"]["spec"]["initContainers"][0]
        assert init["name"] == "auth-files" and "/run/secrets/pgbouncer-auth/password" in init["command"][-1]


def test_pools_authenticate_through_the_bootstrap_lookup(run):
    for role in ("rw", "ro", "session"):
        ini = next(
            c
            for c in run.of_type("kubernetes:core/v1:ConfigMap")
            if c.inputs["metadata"]["name"] == f"pgbouncer-{role}"
        ).inputs["data"]
        assert "auth_user" not in ini["pgbouncer.ini"].replace("auth_user.ini", "")
        assert ini["pgbouncer.ini"].rstrip().endswith("%include /run/pgbouncer/auth_user.ini")
        assert f"auth_query = {AUTH_QUERY}" in ini["pgbouncer.ini"]
        assert "auth_type = hba" in ini["pgbouncer.ini"]
        hba = ini["pg_hba.conf"].splitlines()
        assert {"host all pgbouncer_auth 0.0.0.0/0 reject", "host all pgbouncer_auth_clone 0.0.0.0/0 reject"} <= set(
            hba
        )
        assert hba[-2:] == ["hostssl odoo all 0.0.0.0/0 scram-sha-256", "hostssl postgres all 0.0.0.0/0 scram-sha-256"]


def test_pods_roll_on_config_change_and_drain_on_sigint(run):
    for deployment in nonempty(deployments(run).values()):
        template = deployment.inputs["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert len(annotations["checksum/config"]) == 64
        pgbouncer = template["spec"]["containers"][0]
        assert pgbouncer["lifecycle"]["preStop"]["exec"]["command"][-1].startswith("kill -INT 1")
        assert template["spec"]["terminationGracePeriodSeconds"] > 25
        assert pgbouncer["readinessProbe"]["tcpSocket"]["port"] == 6432
        assert pgbouncer["livenessProbe"]["tcpSocket"]["port"] == 6432
        assert pgbouncer["readinessProbe"] != pgbouncer["livenessProbe"]
        assert ":" in pgbouncer["image"] and not pgbouncer["image"].endswith(":latest")
        assert pgbouncer["ports"] == [{"name": "postgres", "containerPort": 6432}]
        exporter = template["spec"]["containers"][1]
        assert exporter["name"] == "exporter" and exporter["securityContext"]["readOnlyRootFilesystem"] is True


def test_pool_replicas_are_fixed_and_disruption_budgeted(run):
    pdbs = {p.inputs["metadata"]["name"] for p in run.of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert {"pgbouncer-rw", "pgbouncer-ro", "pgbouncer-session"} <= pdbs
    config = section(run.stack, "pgbouncer")
    for role, deployment in deployments(run).items():
        assert deployment.inputs["spec"]["replicas"] == config[role.removeprefix("pgbouncer-")]["replicas"]


def test_budget_outputs_match_the_config(run):
    budget = load_config(stack_file_config(run.stack)).connection_budget()
    assert run.outputs["pgbouncerServerConnections"] == budget.per_target
    assert all(used <= budget.limit_per_target[t] for t, used in budget.per_target.items())


def test_budget_counts_every_pod_of_every_pool():
    roles = [
        PoolRole("rw", "transaction", False, 3, 60, 10, 1500),
        PoolRole("ro", "transaction", True, 3, 60, 10, 1000),
        PoolRole("session", "session", False, 2, 20, 5, 200),
    ]
    budget = connection_budget(roles, Target("primary", 1000), [Target("replica-1", 1000)], DEMAND)
    # Each pod also holds at most two connections for Odoo's `postgres` questions (the client's
    # and PgBouncer's lookup of it).
    assert budget.per_target == {"primary": 3 * 72 + 2 * 27, "replica-1": 3 * 72}
    assert budget.limit_per_target == {"primary": 850, "replica-1": 850}
    # The gateway reads only: its pools count against ro.
    assert budget.clients_per_role == {"rw": 20 * 4 * 8, "ro": 20 * 4 * 8 + 15 * 10, "session": 3 * 8}
    # Without replicas the reads fall back on the primary.
    alone = connection_budget(roles, Target("primary", 1000), [], DEMAND)
    assert alone.per_target == {"primary": 3 * 72 + 3 * 72 + 2 * 27}


def test_budget_that_cannot_fit_names_the_key_and_the_gap():
    rw = {"replicas": 3, "poolSize": 300, "reservePoolSize": 10, "maxClientConn": 1500}
    [problem] = section_problems("prod", "pgbouncer", rw=rw)
    assert problem.startswith(f"{PROJECT}:pgbouncer: connection budget against database.maxConnections (1000)")
    # rw 3 x (300 + 10 + 2) = 936 plus the session pool's 3 x (20 + 5 + 2) = 81.
    assert "1017 server connections can land on primary, over 85 % of its max_connections (850)" in problem
    assert "lower pool sizes by 167" in problem and "database.maxConnections to at least 1197" in problem


def test_client_demand_above_capacity_is_refused():
    session = {"replicas": 1, "poolSize": 10, "maxClientConn": 10}
    problems = section_problems("prod", "pgbouncer", session=session)
    assert "pool session: the applications can open 24 client connections" in problems[0]


def test_ini_is_secret_free():
    role = PoolRole("rw", "transaction", False, 1, 5, 1, 100)
    text = render_ini(IniSettings(role, "odoo", ["a", "b"], 5432, AUTH_QUERY, "stats", ServerTimeouts(300, 3600, 30)))
    assert "odoo = host=a,b port=5432 dbname=odoo pool_size=5 reserve_pool=1" in text
    assert "password" not in text.lower()


def test_the_auth_files_come_from_the_mounted_secret(tmp_path):
    """The init container's command, run by a real shell on files as the CSI driver writes them
    (no trailing newline); a quote in the secret stops it rather than breaking the file."""
    role = PoolRole("rw", "transaction", False, 1, 5, 1, 100)
    settings = dataclasses.replace(
        IniSettings(role, "odoo", ["a"], 5432, AUTH_QUERY, "pgbouncer_stats", ServerTimeouts(300, 3600, 30)),
        auth_include=str(tmp_path / "auth_user.ini"),
        auth_file=str(tmp_path / "userlist.txt"),
        client_tls_key_file=str(tmp_path / "client-tls.key"),
        client_tls_cert_file=str(tmp_path / "client-tls.crt"),
    )
    (tmp_path / "username").write_text("pgbouncer_auth_clone")
    (tmp_path / "password").write_text("Abc123")
    command = render_auth_command(str(tmp_path), settings)
    subprocess.run(["/bin/sh", "-c", command], check=True)
    assert (tmp_path / "auth_user.ini").read_text() == "auth_user = pgbouncer_auth_clone\n"
    assert (tmp_path / "userlist.txt").read_text() == '"pgbouncer_auth_clone" "Abc123"\n"pgbouncer_stats" ""\n'
    assert (tmp_path / "userlist.txt").stat().st_mode & 0o077 == 0
    # The pod's own TLS key for its clients: made here, readable by the pod's user only.
    assert (tmp_path / "client-tls.key").stat().st_mode & 0o077 == 0
    subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-in", str(tmp_path / "client-tls.crt")],
        capture_output=True,
        text=True,
    )
    assert subject.stdout.strip() in ("subject=CN = pgbouncer", "subject=CN=pgbouncer")
    (tmp_path / "password").write_text('Abc"123')
    refused = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True)
    assert refused.returncode == 1 and "quote in the auth_user secret" in refused.stderr
