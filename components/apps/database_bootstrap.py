"""The database bootstrap Job: least-privilege roles on RDS, run on each `up` that changes them.

The Job is the only holder of the master credentials in the cluster. It connects straight to
the primary (PgBouncer authenticates through a role this Job creates, so it cannot go through
PgBouncer), runs components/apps/database_bootstrap_sql.py's script in one transaction and
exits. Its name carries a digest of the script and the credentials: a change is a new Job,
which pulumi-kubernetes awaits to completion, and `revision` (that name) reaches the pods that
use the roles, so they start only after it and roll when their credentials change.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.apps.database_bootstrap_sql import (
    DatabaseRoles,
    render_bootstrap_sql,
    render_verifiers,
)
from components.apps.kubernetes_network_policies import ip_blocks, tcp_ports
from components.data.scram import SALT_BYTES, scram_verifier
from components.k8s.pod_spec import (
    ContainerResources,
    checksum,
    container_security_context,
    pod_security_context,
    pull_policy,
)
from components.outputs import secret_output

SECRET_DIR = "/run/secrets/db-bootstrap"
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
    #: The RDS primary and the master credentials (used by this Job only).
    primary_host: pulumi.Input[str]
    #: Port of the RDS primary.
    port: int
    #: The master password, used by this Job only.
    master_password: pulumi.Input[str]
    #: Bump to generate new passwords for every role (keepers of the random passwords).
    credentials_version: str
    #: Bump to run the Job again with nothing else changed.
    revision: str
    #: Where the isolated tier lives: the Job's only egress besides DNS.
    data_cidrs: list[str]
    #: Node labels the pod requires (steady nodes: the data tier's security group admits them).
    node_selector: Mapping[str, str]


def pgpass_line(host: str, port: int, database: str, user: str, password: str) -> str:
    """One ~/.pgpass entry; libpq reads `:` and `\\` in a field only when escaped."""

    def field(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    return ":".join(field(str(part)) for part in (host, port, database, user, password)) + "\n"


def bootstrap_command(secret_dir: str, sql_dir: str, private_dir: str) -> str:
    """The Job's shell command (the real-server tests run exactly this)."""
    return (
        f"umask 077 && cp {secret_dir}/pgpass {private_dir}/pgpass && exec psql -X --single-transaction "
        f"-v ON_ERROR_STOP=1 -f {secret_dir}/verifiers.psql -f {sql_dir}/bootstrap.sql"
    )


def bootstrap_environment(
    roles: DatabaseRoles, host: pulumi.Input[str], port: int, private_dir: str, sslmode: str
) -> dict[str, pulumi.Input[str]]:
    """libpq's connection settings: none of them secret (the password is in the passfile).
    On RDS `rds.force_ssl` is on; the RDS CA bundle is not in the image, so `require`."""
    return {
        "PGHOST": host,
        "PGPORT": str(port),
        "PGDATABASE": roles.database,
        "PGUSER": roles.master_user,
        "PGPASSFILE": f"{private_dir}/pgpass",
        "PGSSLMODE": sslmode,
        "PGCONNECT_TIMEOUT": "10",
        "PGAPPNAME": "db-bootstrap",
    }


class DatabaseBootstrap(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:database:DatabaseBootstrap"
    #: Role names the applications log in as, and PgBouncer's auth_user.
    owner: str
    reader: str
    auth_user: str
    #: Login passwords of the owner (Odoo), the reader (gateway) and PgBouncer's auth_user.
    owner_password: pulumi.Output[str]
    reader_password: pulumi.Output[str]
    auth_password: pulumi.Output[str]
    #: The Job's name (digest of script and credentials): known once the Job has completed.
    revision: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        roles = args.roles
        passwords, verifiers = {}, {}
        for key in ("owner", "reader", "auth_user"):
            keepers = {"version": args.credentials_version}
            password = random.RandomPassword(
                f"{name}-{key}", length=40, special=False, keepers=keepers, opts=child
            ).result
            salt = random.RandomBytes(f"{name}-{key}-salt", length=SALT_BYTES, keepers=keepers, opts=child).base64
            passwords[key] = secret_output(password)
            verifiers[key] = pulumi.Output.all(password, salt).apply(
                lambda v: scram_verifier(v[0], base64.b64decode(v[1]))
            )
        self.owner, self.reader, self.auth_user = roles.owner, roles.reader, roles.auth_user
        self.owner_password = passwords["owner"]
        self.reader_password = passwords["reader"]
        self.auth_password = passwords["auth_user"]

        script = render_bootstrap_sql(roles)
        verifier_file = pulumi.Output.all(**verifiers).apply(render_verifiers)
        pgpass = pulumi.Output.all(args.primary_host, args.master_password).apply(
            lambda v: pgpass_line(v[0], args.port, roles.database, roles.master_user, v[1])
        )
        # The digest covers everything the Job acts on; it is not secret, its inputs are.
        digest = pulumi.Output.unsecret(
            pulumi.Output.all(verifier_file, pgpass).apply(lambda v: checksum(args.revision, script, *v)[:10])
        )
        job_name = digest.apply(lambda d: f"db-bootstrap-{d}")
        config = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="db-bootstrap", namespace=args.namespace, labels=LABELS),
            data={"bootstrap.sql": script},
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job_name, namespace=args.namespace, labels=LABELS),
            type="Opaque",
            string_data={"verifiers.psql": secret_output(verifier_file), "pgpass": secret_output(pgpass)},
            opts=child,
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
        job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job_name, namespace=args.namespace, labels=LABELS),
            spec=_job_spec(args, config.metadata.name, secret.metadata.name),
            # The allow rule exists before the pod needs it, whatever the namespace's default-deny.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[egress], custom_timeouts=pulumi.CustomTimeouts(create="15m")
            ),
        )
        self.revision = job.metadata.name
        self.register_outputs(
            {
                "revision": self.revision,
                "ownerPassword": self.owner_password,
                "readerPassword": self.reader_password,
                "authPassword": self.auth_password,
            }
        )


def _job_spec(args: DatabaseBootstrapArgs, config_name: pulumi.Input[str], secret_name: pulumi.Input[str]) -> dict:
    """One pod, retried with backoff (RDS may still be applying a new master password), never
    more than ten minutes. libpq ignores a passfile others can read, and a Secret volume with an
    fsGroup is group-readable, so the entrypoint copies it to a private file first."""
    psql = bootstrap_command(SECRET_DIR, SQL_DIR, "/tmp")
    env = bootstrap_environment(args.roles, args.primary_host, args.port, "/tmp", "require")
    return {
        "backoffLimit": 4,
        "activeDeadlineSeconds": 600,
        "template": {
            "metadata": {"labels": LABELS},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                # The platform's high UID, not the image's postgres (70): psql needs no passwd entry
                # once PGUSER is set (realserver/rds.py runs it so).
                "securityContext": pod_security_context(),
                "nodeSelector": dict(args.node_selector),
                "containers": [
                    {
                        "name": "bootstrap",
                        "image": args.image,
                        "imagePullPolicy": pull_policy(args.image),
                        "command": ["/bin/sh", "-c", psql],
                        "env": [{"name": key, "value": value} for key, value in env.items()],
                        "securityContext": container_security_context(),
                        "resources": RESOURCES.as_k8s(),
                        "volumeMounts": [
                            {"name": "script", "mountPath": SQL_DIR, "readOnly": True},
                            {"name": "credentials", "mountPath": SECRET_DIR, "readOnly": True},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "script", "configMap": {"name": config_name, "defaultMode": 0o444}},
                    {"name": "credentials", "secret": {"secretName": secret_name, "defaultMode": 0o440}},
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                ],
            },
        },
    }
