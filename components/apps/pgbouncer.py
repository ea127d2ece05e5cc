"""PgBouncer on EKS in front of RDS: one Deployment and Service per pool role.

Odoo's replica and bus connections use the same database name as its main ones, so the pools
cannot be told apart by database name: each role (rw, ro, session) is its own Deployment and
Service, `pgbouncer-<role>`, and the connection budget counts all of them together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.apps.pgbouncer_config import (
    LISTEN_PORT,
    Budget,
    IniSettings,
    PoolRole,
    ServerTimeouts,
    render_ini,
    render_userlist,
)
from components.data.connection_urls import postgres_url
from components.k8s.pod_spec import (
    ContainerResources,
    checksum,
    container_security_context,
    pod_security_context,
    spread,
)
from components.k8s.workload import PodPeer
from components.outputs import secret_output

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
    replica_hosts: Sequence[pulumi.Input[str]]
    #: RDS port.
    port: int
    #: User PgBouncer authenticates clients as and connects to RDS with.
    username: str
    password: pulumi.Input[str]
    #: The rw, ro and session pools.
    roles: Sequence[PoolRole]
    #: Server connection timeouts, the same for every pool.
    timeouts: ServerTimeouts
    #: The computed connection budget; the component refuses one with problems.
    budget: Budget
    #: PgBouncer and exporter images, pinned tags.
    image: str
    exporter_image: str
    #: Requests and limits of each PgBouncer container.
    resources: ContainerResources
    #: Node labels the pods require (the application node pool).
    node_selector: Mapping[str, str]


class PgBouncer(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:pgbouncer:PgBouncer"
    service_hosts: dict[str, str]
    server_connections: dict[str, int]
    server_connection_limits: dict[str, int]

    def __init__(self, name: str, args: PgBouncerArgs, opts: pulumi.ResourceOptions | None = None):
        if args.budget.problems:
            raise ValueError(f"{name}: connection budget does not fit: " + "; ".join(args.budget.problems))
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stats_password = random.RandomPassword(f"{name}-stats", length=32, special=False, opts=child)
        userlist = pulumi.Output.all(args.password, stats_password.result).apply(
            lambda passwords: render_userlist({args.username: passwords[0], STATS_USER: passwords[1]})
        )
        exporter_dsn = stats_password.result.apply(
            lambda password: postgres_url(
                STATS_USER, password, "127.0.0.1", LISTEN_PORT, "pgbouncer", {"sslmode": "disable"}
            )
        )
        secret = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="pgbouncer-auth", namespace=args.namespace),
            type="Opaque",
            string_data={
                "userlist.txt": secret_output(userlist),
                "exporter-dsn": secret_output(exporter_dsn),
            },
            opts=child,
        )
        # A digest of the credentials (not the credentials) rolls the pods when they change.
        secret_checksum = pulumi.Output.unsecret(userlist.apply(checksum))
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="pgbouncer", namespace=args.namespace),
            automount_service_account_token=False,
            opts=child,
        )

        self.service_hosts = {}
        for role in args.roles:
            # Only the endpoints this role points at flow into its ini, so the ConfigMap depends
            # on exactly those instances (the budget policy follows that relation).
            targets = args.replica_hosts if role.targets_replicas and args.replica_hosts else [args.primary_host]
            settings = functools.partial(
                IniSettings,
                role=role,
                database=args.database,
                port=args.port,
                auth_user=args.username,
                stats_user=STATS_USER,
                timeouts=args.timeouts,
            )
            # partial, not a closure: the callback runs after the loop has moved on.
            ini = pulumi.Output.all(*targets).apply(functools.partial(_ini_for, settings))
            self._role(name, role, args, ini, secret, secret_checksum, service_account)
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
        secret: k8s.core.v1.Secret,
        secret_checksum: pulumi.Output[str],
        service_account: k8s.core.v1.ServiceAccount,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        app = f"pgbouncer-{role.name}"
        labels = SELECTOR | {"app.kubernetes.io/instance": app}
        meta = k8s.meta.v1.ObjectMetaArgs(name=app, namespace=args.namespace, labels=labels)
        config = k8s.core.v1.ConfigMap(
            f"{name}-{role.name}-config", metadata=meta, data={"pgbouncer.ini": ini}, opts=child
        )
        probe = {"tcpSocket": {"port": LISTEN_PORT}}
        k8s.apps.v1.Deployment(
            f"{name}-{role.name}",
            metadata=meta,
            spec={
                "replicas": role.replicas,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "checksum/config": ini.apply(checksum),
                            "checksum/auth": secret_checksum,
                        },
                    },
                    "spec": {
                        "serviceAccountName": service_account.metadata.name,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": DRAIN_SECONDS + args.timeouts.query_wait_timeout_s,
                        "nodeSelector": dict(args.node_selector),
                        "topologySpreadConstraints": spread(labels),
                        "containers": [
                            {
                                "name": "pgbouncer",
                                "image": args.image,
                                "command": ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
                                "ports": [{"name": "postgres", "containerPort": LISTEN_PORT}],
                                "readinessProbe": probe | {"periodSeconds": 5, "failureThreshold": 2},
                                "livenessProbe": probe
                                | {"initialDelaySeconds": 15, "periodSeconds": 20, "failureThreshold": 3},
                                "lifecycle": {
                                    # PgBouncer is PID 1: SIGINT starts its safe shutdown; the sleep keeps
                                    # the pod alive while clients finish and endpoints are removed.
                                    "preStop": {
                                        "exec": {"command": ["/bin/sh", "-c", f"kill -INT 1; sleep {DRAIN_SECONDS}"]}
                                    }
                                },
                                "resources": args.resources.as_k8s(),
                                "securityContext": container_security_context(),
                                "volumeMounts": [
                                    {"name": "config", "mountPath": "/etc/pgbouncer", "readOnly": True},
                                    {"name": "auth", "mountPath": "/etc/pgbouncer/secret", "readOnly": True},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            },
                            {
                                "name": "exporter",
                                "image": args.exporter_image,
                                "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                                "env": [
                                    {
                                        "name": "PGBOUNCER_EXPORTER_CONNECTION_STRING",
                                        "valueFrom": {
                                            "secretKeyRef": {"name": secret.metadata.name, "key": "exporter-dsn"}
                                        },
                                    }
                                ],
                                "readinessProbe": {
                                    "httpGet": {"path": "/metrics", "port": METRICS_PORT},
                                    "periodSeconds": 15,
                                },
                                "livenessProbe": {"tcpSocket": {"port": METRICS_PORT}, "periodSeconds": 30},
                                "resources": {
                                    "requests": {"cpu": "20m", "memory": "32Mi"},
                                    "limits": {"cpu": "100m", "memory": "64Mi"},
                                },
                                "securityContext": container_security_context(),
                            },
                        ],
                        "volumes": [
                            {"name": "config", "configMap": {"name": config.metadata.name, "defaultMode": 0o444}},
                            {
                                "name": "auth",
                                "secret": {
                                    "secretName": secret.metadata.name,
                                    "defaultMode": 0o440,
                                    "items": [{"key": "userlist.txt", "path": "userlist.txt"}],
                                },
                            },
                            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        ],
                    },
                },
            },
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{role.name}-pdb",
            metadata=meta,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": labels}},
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-{role.name}-svc",
            metadata=meta,
            spec={
                "type": "ClusterIP",
                "selector": labels,
                "ports": [
                    {"name": "postgres", "port": SERVICE_PORT, "targetPort": LISTEN_PORT},
                    {"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT},
                ],
            },
            opts=child,
        )


def _ini_for(settings: Callable[..., IniSettings], hosts: list[str]) -> str:
    return render_ini(settings(hosts=hosts))
