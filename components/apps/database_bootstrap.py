"""The database bootstrap Job: least-privilege roles on RDS, run on each `up` that changes them.

The Job is the only holder of the master credentials in the cluster, and it holds them only
while it runs: the Secrets Store CSI driver mounts the master secret's current password, read
with the Job's own Pod Identity, so no credential passes through the program, its state or a
Kubernetes Secret. It connects straight to the primary (PgBouncer authenticates through a role
this Job creates, so it cannot go through PgBouncer), runs
components/apps/database_bootstrap_sql.py's script in one transaction and exits. Its name
carries a digest of the script: a change is a new Job, which pulumi-kubernetes awaits to
completion, and `revision` (that name) reaches the pods that use the roles, so they start only
after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.apps.database_bootstrap_sql import DatabaseRoles, render_bootstrap_sql
from components.apps.kubernetes_network_policies import ip_blocks, tcp_ports
from components.data.performance_indexes import render_migration
from components.data.rds_trust import BUNDLE_KEY
from components.k8s.pod_spec import (
    ContainerResources,
    checksum,
    container_security_context,
    pod_security_context,
    pull_policy,
)
from components.k8s.secret_files import PodAccess, SecretFiles, SecretObject, SecretRef, pod_secrets
from components.k8s.security_group_policy import security_group_policy

SERVICE_ACCOUNT = "db-bootstrap"
SQL_DIR = "/etc/db-bootstrap"
#: One psql session running a few dozen statements.
RESOURCES = ContainerResources.model_validate(
    {"cpuRequest": "50m", "cpuLimit": "500m", "memoryRequest": "64Mi", "memoryLimit": "128Mi"}
)
LABELS = {"app.kubernetes.io/name": "db-bootstrap", "app.kubernetes.io/part-of": "smartdairy"}


@dataclass(frozen=True)
class DatabaseBootstrapArgs:
    #: Namespace of the Job (the applications').
    namespace: pulumi.Input[str]
    #: Image with psql (the official postgres image), pinned.
    image: str
    #: The roles to create and the tables the reader sees.
    roles: DatabaseRoles
    #: The RDS primary the Job connects to.
    primary_host: pulumi.Input[str]
    #: Port of the RDS primary.
    port: int
    #: The master secret (rotated by Secrets Manager) and its key: the Job's identity may read
    #: that one secret.
    master_secret: SecretRef
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess
    #: Bump to run the Job again with nothing else changed.
    revision: str
    #: Where the isolated tier lives: the Job's only egress besides DNS.
    data_cidrs: list[str]
    #: Node labels the pod requires (steady nodes).
    node_selector: Mapping[str, str]
    #: The security group the Jobs' pods wear (security groups for pods): RDS admits it.
    security_group_id: pulumi.Input[str]
    #: The RDS region's CA bundle (components/data/rds_trust.py): psql verifies RDS with it.
    rds_ca: str


def _passfile(master_dir: str, private_dir: str) -> str:
    """A passfile from the master's password file: libpq ignores one others can read, and reads
    `:` and `\\` only escaped; the wildcards match the one server the environment names."""
    return (
        f"umask 077 && {{ printf '*:*:*:*:'; sed 's/[\\\\:]/\\\\&/g' {master_dir}/password; }} > {private_dir}/pgpass"
    )


def bootstrap_command(master_dir: str, sql_dir: str, private_dir: str) -> str:
    """The bootstrap Job's shell command (the real-server tests run exactly this): the script in
    one transaction."""
    return (
        f"{_passfile(master_dir, private_dir)} && "
        f"exec psql -X --single-transaction -v ON_ERROR_STOP=1 -f {sql_dir}/bootstrap.sql"
    )


def migration_command(master_dir: str, sql_dir: str, private_dir: str) -> str:
    """The migration Job's shell command: psql in autocommit, as CREATE INDEX CONCURRENTLY needs
    (components/data/performance_indexes.py)."""
    return f"{_passfile(master_dir, private_dir)} && exec psql -X -v ON_ERROR_STOP=1 -f {sql_dir}/migrate.sql"


def bootstrap_environment(
    roles: DatabaseRoles, host: pulumi.Input[str], port: int, private_dir: str, root_cert: str
) -> dict[str, pulumi.Input[str]]:
    """libpq's connection settings: none of them secret (the password is in the passfile).
    `verify-full`: RDS's certificate must chain to `root_cert` and name the host dialled."""
    return {
        "PGHOST": host,
        "PGPORT": str(port),
        "PGDATABASE": roles.database,
        "PGUSER": roles.master_user,
        "PGPASSFILE": f"{private_dir}/pgpass",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": root_cert,
        "PGCONNECT_TIMEOUT": "10",
        "PGAPPNAME": "db-bootstrap",
    }


class DatabaseBootstrap(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:database:DatabaseBootstrap"
    #: Role names the applications log in as, and PgBouncer's auth_user (each with its clone).
    owner: str
    reader: str
    auth_user: str
    #: The Job's name (digest of the script): known once the Job has completed.
    revision: pulumi.Output[str]
    #: What must wait for the roles to exist (their first rotation): the Job.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: DatabaseBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        roles = args.roles
        self.owner, self.reader, self.auth_user = roles.owner, roles.reader, roles.auth_user
        script = render_bootstrap_sql(roles)
        job_name = f"db-bootstrap-{checksum(args.revision, script)[:10]}"
        config = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="db-bootstrap", namespace=args.namespace, labels=LABELS),
            data={"bootstrap.sql": script, "migrate.sql": render_migration(), BUNDLE_KEY: args.rds_ca},
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            automount_service_account_token=False,
            opts=child,
        )
        objects = [SecretObject(args.master_secret, {"password": "password"})]
        master, identity = pod_secrets(
            name, "db-bootstrap-master", args.namespace, [SERVICE_ACCOUNT], objects, args.pod_access, self
        )
        egress = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="db-bootstrap", namespace=args.namespace),
            spec={
                "podSelector": {"matchLabels": LABELS},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": ip_blocks(args.data_cidrs), "ports": tcp_ports(args.port)}],
            },
            opts=child,
        )
        wears = security_group_policy(
            name,
            k8s.meta.v1.ObjectMetaArgs(name="db-bootstrap", namespace=args.namespace),
            LABELS,
            args.security_group_id,
            self,
        )
        job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job_name, namespace=args.namespace, labels=LABELS),
            spec=_job_spec(args, config.metadata.name, account.metadata.name, master, BOOTSTRAP),
            # The allow rule, the security group and the identity exist before the pod needs them.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[egress, wears, *identity.associations],
                custom_timeouts=pulumi.CustomTimeouts(create="15m"),
            ),
        )
        migration = self._migration(name, args, config.metadata.name, account.metadata.name, master, job)
        self.revision = job.metadata.name
        self.ready = [job]
        #: The migration Job (the seed's indexes), after the bootstrap.
        self.migration = migration.metadata.name
        self.register_outputs({"revision": self.revision})

    def _migration(
        self,
        name: str,
        args: DatabaseBootstrapArgs,
        config_name: pulumi.Input[str],
        service_account: pulumi.Input[str],
        master: SecretFiles,
        bootstrap: k8s.batch.v1.Job,
    ) -> k8s.batch.v1.Job:
        """The seed's indexes, after the bootstrap, as the same identity (the only holder of the
        master). Its name is a digest of the script and the revision: bump
        `database.bootstrap.revision` after installing a module, and it builds that module's."""
        migration = render_migration()
        return k8s.batch.v1.Job(
            f"{name}-migration",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"db-migrate-{checksum(args.revision, migration)[:10]}", namespace=args.namespace, labels=LABELS
            ),
            spec=_job_spec(args, config_name, service_account, master, MIGRATION),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[bootstrap], custom_timeouts=pulumi.CustomTimeouts(create="65m")
            ),
        )


@dataclass(frozen=True)
class JobKind:
    #: The container's name, its shell command (from master dir, SQL dir, private dir), and
    #: how long the Job may run.
    name: str
    command: Callable[[str, str, str], str]
    deadline_s: int


BOOTSTRAP = JobKind("bootstrap", bootstrap_command, 600)
#: Index builds on a large table take minutes each.
MIGRATION = JobKind("migrate", migration_command, 3600)


def _job_spec(
    args: DatabaseBootstrapArgs,
    config_name: pulumi.Input[str],
    service_account: pulumi.Input[str],
    master: SecretFiles,
    kind: JobKind,
) -> dict:
    """One pod, retried with backoff (the master secret may be mid-rotation), never longer than
    the kind's deadline. The passfile goes to a private tmpfs: libpq ignores one others can read."""
    psql = kind.command(master.directory, SQL_DIR, "/tmp")
    env = bootstrap_environment(args.roles, args.primary_host, args.port, "/tmp", f"{SQL_DIR}/{BUNDLE_KEY}")
    return {
        "backoffLimit": 4,
        "activeDeadlineSeconds": kind.deadline_s,
        "template": {
            "metadata": {"labels": LABELS},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                # The platform's high UID, not the image's postgres (70): psql needs no passwd entry
                # once PGUSER is set (realserver/rds.py runs it so).
                "securityContext": pod_security_context(),
                "nodeSelector": dict(args.node_selector),
                "containers": [
                    {
                        "name": kind.name,
                        "image": args.image,
                        "imagePullPolicy": pull_policy(args.image),
                        "command": ["/bin/sh", "-c", psql],
                        "env": [{"name": key, "value": value} for key, value in env.items()],
                        "securityContext": container_security_context(),
                        "resources": RESOURCES.as_k8s(),
                        "volumeMounts": [
                            {"name": "script", "mountPath": SQL_DIR, "readOnly": True},
                            master.mount,
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "script", "configMap": {"name": config_name, "defaultMode": 0o444}},
                    master.volume,
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                ],
            },
        },
    }
