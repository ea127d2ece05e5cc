"""PgBouncer on EKS in front of RDS: one Deployment and Service per pool role.

Odoo's replica and bus connections use the same database name as its main ones, so the pools
cannot be told apart by database name: each role (rw, ro, session) is its own Deployment and
Service, `pgbouncer-<role>`, and the connection budget counts all of them together.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.apps.pgbouncer_config import (
    AUTH_DIR,
    CONFIG_DIR,
    LISTEN_PORT,
    Budget,
    IniSettings,
    PoolRole,
    ServerTimeouts,
    render_auth_command,
    render_hba,
    render_ini,
)
from components.data.rds_trust import BUNDLE_KEY
from components.k8s.pod_spec import BOOTSTRAP_ANNOTATION, ContainerResources, checksum
from components.k8s.secret_files import PodAccess, SecretFiles, SecretObject, SecretRef, pod_secrets
from components.k8s.workload import PodPeer, Probes, Workload, WorkloadArgs

SERVICE_PORT = 5432
METRICS_PORT = 9127
STATS_USER = "pgbouncer_stats"
#: The label every role's pods share.
SELECTOR = {"app.kubernetes.io/name": "pgbouncer"}
#: PgBouncer drains on SIGINT (wait for clients' transactions), exits at once on SIGTERM.
DRAIN_SECONDS = 25


@dataclass(frozen=True)
class PgBouncerArgs:
    #: Namespace of the pools.
    namespace: pulumi.Input[str]
    #: The database every pool serves.
    database: str
    #: RDS endpoints: the primary, and the replicas the ro pool spreads over.
    primary_host: pulumi.Input[str]
    #: The replicas the ro pool spreads over.
    replica_hosts: Sequence[pulumi.Input[str]]
    #: RDS port.
    port: int
    #: The pair of roles PgBouncer runs auth_query as, one at a time (their secret names the
    #: current one): no client may log in as either.
    auth_users: tuple[str, str]
    #: The auth_user's secret (rotated by Secrets Manager) and its key; the pods read it at start.
    auth_secret: SecretRef
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess
    #: The database bootstrap's lookup of SCRAM verifiers: no application password is in PgBouncer's files.
    auth_query: str
    #: The database bootstrap's revision: the pods start after it and roll with it.
    bootstrap_revision: pulumi.Input[str]
    #: The rw, ro and session pools.
    roles: Sequence[PoolRole]
    #: Server connection timeouts, the same for every pool.
    timeouts: ServerTimeouts
    #: The computed connection budget; the component refuses one with problems.
    budget: Budget
    #: PgBouncer and exporter images, pinned tags.
    image: str
    #: pgbouncer-exporter image, pinned tag.
    exporter_image: str
    #: Requests and limits of each PgBouncer container.
    resources: ContainerResources
    #: Node labels the pods require (the application node pool).
    node_selector: Mapping[str, str]
    #: The security group its pods wear (security groups for pods): RDS admits it.
    security_group_id: pulumi.Input[str]
    #: The RDS region's CA bundle (components/data/rds_trust.py): PgBouncer verifies RDS with it.
    rds_ca: str


class PgBouncer(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:pgbouncer:PgBouncer"

    def __init__(self, name: str, args: PgBouncerArgs, opts: pulumi.ResourceOptions | None = None):
        if args.budget.problems:
            raise ValueError(f"{name}: connection budget does not fit: " + "; ".join(args.budget.problems))
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        apps = [f"pgbouncer-{role.name}" for role in args.roles]
        objects = [SecretObject(args.auth_secret, {"username": "username", "password": "password"})]
        auth, _ = pod_secrets(name, "pgbouncer-auth", args.namespace, apps, objects, args.pod_access, self)
        # The same for every pool: who may log in, and how.
        hba = render_hba(args.database, args.auth_users, STATS_USER)
        self.service_hosts = {}
        for role in args.roles:
            # Only the endpoints this role points at flow into its ini, so the ConfigMap depends
            # on exactly those instances (the budget policy follows that relation).
            targets = args.replica_hosts if role.targets_replicas and args.replica_hosts else [args.primary_host]
            # partial, not a closure: the callback runs after the loop has moved on.
            ini = pulumi.Output.all(*targets).apply(functools.partial(_ini_for, args, role))
            self._role(name, role, args, ini, hba, auth)
            self.service_hosts[role.name] = f"pgbouncer-{role.name}"

        #: Clients connect to the role's Service on the PostgreSQL port.
        self.port = SERVICE_PORT
        #: What NetworkPolicies select the pods of every role by.
        self.peer = PodPeer(SELECTOR, LISTEN_PORT, METRICS_PORT)
        self.server_connections = dict(args.budget.per_target)
        self.server_connection_limits = dict(args.budget.limit_per_target)
        self.register_outputs(
            {
                "serviceHosts": self.service_hosts,
                "serverConnections": self.server_connections,
                "serverConnectionLimits": self.server_connection_limits,
            }
        )

    def _role(
        self,
        name: str,
        role: PoolRole,
        args: PgBouncerArgs,
        ini: pulumi.Output[str],
        hba: str,
        auth: SecretFiles,
    ) -> None:
        """One pool: its ini and hba in a ConfigMap, and a Workload running PgBouncer with its
        exporter, after an init container has written the auth_user's files."""
        app = f"pgbouncer-{role.name}"
        config = k8s.core.v1.ConfigMap(
            f"{name}-{role.name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app, namespace=args.namespace, labels=SELECTOR | {"app.kubernetes.io/instance": app}
            ),
            data={"pgbouncer.ini": ini, "pg_hba.conf": hba, BUNDLE_KEY: args.rds_ca},
            opts=pulumi.ResourceOptions(parent=self),
        )
        probe = {"tcpSocket": {"port": LISTEN_PORT}}
        Workload(
            f"{name}-{role.name}",
            WorkloadArgs(
                namespace=args.namespace,
                app=app,
                name_label=SELECTOR["app.kubernetes.io/name"],
                component="pooler",
                image=args.image,
                command=["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
                port=LISTEN_PORT,
                port_name="postgres",
                service_port=SERVICE_PORT,
                metrics_port=METRICS_PORT,
                resources=args.resources,
                probes=Probes(
                    startup=probe | {"periodSeconds": 2, "failureThreshold": 15},
                    readiness=probe | {"periodSeconds": 5, "failureThreshold": 2},
                    liveness=probe | {"initialDelaySeconds": 15, "periodSeconds": 20, "failureThreshold": 3},
                ),
                # PgBouncer is PID 1: SIGINT starts its safe shutdown; the sleep keeps the pod
                # alive while clients finish and endpoints are removed.
                lifecycle={"preStop": {"exec": {"command": ["/bin/sh", "-c", f"kill -INT 1; sleep {DRAIN_SECONDS}"]}}},
                sidecars=[_exporter(args.exporter_image)],
                security_group_id=args.security_group_id,
                init_containers=[_auth_files(args, role, auth)],
                private_paths={"auth": AUTH_DIR},
                volumes=[
                    {"name": "config", "configMap": {"name": config.metadata.name, "defaultMode": 0o444}},
                    auth.volume,
                ],
                volume_mounts=[{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
                pod_annotations={
                    "checksum/config": ini.apply(lambda text: checksum(text, hba, args.rds_ca)),
                    BOOTSTRAP_ANNOTATION: args.bootstrap_revision,
                },
                node_selector=args.node_selector,
                # Fixed: the connection budget counts every pod.
                replicas=role.replicas,
                termination_grace_seconds=DRAIN_SECONDS + args.timeouts.query_wait_timeout_s,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _auth_files(args: PgBouncerArgs, role: PoolRole, auth: SecretFiles) -> dict:
    """The init container that turns the mounted secret into PgBouncer's include and auth file."""
    settings = _settings(args, role, [])
    return {
        "name": "auth-files",
        "image": args.image,
        "command": ["/bin/sh", "-c", render_auth_command(auth.directory, settings)],
        "resources": args.resources.as_k8s(),
        "volumeMounts": [auth.mount, {"name": "auth", "mountPath": AUTH_DIR}],
    }


def _exporter(image: str) -> dict:
    """pgbouncer-exporter: reads SHOW STATS over the pod-local admin console, which the hba file
    opens to the stats user from 127.0.0.1 without a password: no secret in its environment."""
    dsn = f"postgres://{STATS_USER}@127.0.0.1:{LISTEN_PORT}/pgbouncer?sslmode=disable"
    return {
        "name": "exporter",
        "image": image,
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
        "env": [{"name": "PGBOUNCER_EXPORTER_CONNECTION_STRING", "value": dsn}],
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": METRICS_PORT}, "periodSeconds": 15},
        "livenessProbe": {"tcpSocket": {"port": METRICS_PORT}, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    }


def _settings(args: PgBouncerArgs, role: PoolRole, hosts: list[str]) -> IniSettings:
    return IniSettings(role, args.database, hosts, args.port, args.auth_query, STATS_USER, args.timeouts)


def _ini_for(args: PgBouncerArgs, role: PoolRole, hosts: list[str]) -> str:
    """pgbouncer.ini of one role, once its hosts are known."""
    return render_ini(_settings(args, role, hosts))
