"""Odoo: HTTP workers (8069, scaled by the seed's odoo-hpa) and the bus/websocket worker
(8072), which holds LISTEN connections and so goes through the session-mode pool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.apps.odoo_config import CONF, OdooSettings, config_renderer, render_odoo_conf
from components.apps.odoo_release import RELEASE_ANNOTATION, OdooRelease, OdooReleaseArgs, ReleasePlan
from components.apps.search_client import SearchClient
from components.k8s.hpa import HpaSpec
from components.k8s.pod_spec import BOOTSTRAP_ANNOTATION, ContainerResources, checksum
from components.k8s.secret_files import PodAccess, SecretFiles, SecretObject, SecretRef, pod_secrets
from components.k8s.workload import Probes, Workload, WorkloadArgs

#: The web and bus Deployments (and their service accounts).
WEB, BUS = "odoo", "odoo-longpolling"


@dataclass(frozen=True)
class OdooArgs:
    #: Namespace of Odoo.
    namespace: pulumi.Input[str]
    #: Odoo image, pinned tag (session_redis and the metrics exporter inside).
    image: str
    #: What odoo.conf renders: database path, workers, limits.
    settings: OdooSettings
    #: Host of the session-mode pool, for the bus worker.
    session_db_host: str
    #: The owner role's secret (user and password alternate with each rotation): mounted by the
    #: CSI driver with the pods' own identity, appended to odoo.conf at start.
    db_secret: SecretRef
    #: The sessions group's user for session_redis (its secret holds the URL), mounted alike.
    redis_secret: SecretRef
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess
    #: The catalogue search (OpenSearch): its URL, and the domain Odoo's role may write to.
    search: SearchClient
    #: The database bootstrap's revision: the pods start after it and roll with it.
    bootstrap_revision: pulumi.Input[str]
    #: The ReadWriteMany claim of the filestore.
    filestore_claim: pulumi.Input[str]
    #: odoo-hpa (web workers).
    hpa: HpaSpec
    #: Bus pods.
    longpolling_replicas: int
    #: Requests and limits of a web pod and of a bus pod.
    resources: ContainerResources
    #: The bus container's requests and limits.
    longpolling_resources: ContainerResources
    #: Port of Odoo's Prometheus metrics.
    metrics_port: int
    #: Web pods scale with the HPA and may run on overflow (spot) pools; the bus pods hold
    #: long-lived websockets and stay on steady nodes.
    web_node_selector: Mapping[str, str]
    #: The bus pods hold long-lived websockets: steady nodes only.
    bus_node_selector: Mapping[str, str]
    #: The security group web and bus pods wear (security groups for pods): the session store
    #: and OpenSearch admit it.
    security_group_id: pulumi.Input[str]
    #: How a new image or module list is released (a snapshot, then odoo -i/-u) before its pods.
    release: ReleasePlan


class Odoo(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:odoo:Odoo"

    def __init__(self, name: str, args: OdooArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        objects = [
            SecretObject(args.db_secret, {"username": "db-username", "password": "db-password"}),
            SecretObject(args.redis_secret, {"url": "redis-url"}),
        ]
        aws_secrets, identity = pod_secrets(
            name, "odoo-aws", args.namespace, [WEB, BUS], objects, args.pod_access, self, args.search.statements()
        )
        #: Odoo's IAM role: the catalogue writer in OpenSearch's role mappings.
        self.role_arn = identity.role_arn
        shared, secrets_mount = self._shared_pod(name, args, aws_secrets)
        release = self._release(name, args)
        # The pods of an image start once its release has completed (Pulumi waits for the Job).
        shared["pod_annotations"] = {**shared["pod_annotations"], RELEASE_ANNOTATION: release.name}
        #: The release Job's pods, which PgBouncer admits.
        self.release = release.peer
        web = self._web(name, args, shared, secrets_mount)
        bus = self._bus(name, args, shared, secrets_mount)
        self.web_service = web.service_name
        self.longpolling_service = bus.service_name
        #: HTTP workers and the bus, as NetworkPolicies and the ingress reach them.
        self.web = web.peer
        self.bus = bus.peer
        self.register_outputs(
            {
                "webService": self.web_service,
                "longpollingService": self.longpolling_service,
            }
        )

    def _release(self, name: str, args: OdooArgs) -> OdooRelease:
        return OdooRelease(
            f"{name}-release",
            OdooReleaseArgs(
                plan=args.release,
                namespace=args.namespace,
                image=args.image,
                odoo_config_map=self.config_map,
                db_secret=args.db_secret,
                db_host=args.session_db_host,
                filestore_claim=args.filestore_claim,
                data_dir=args.settings.data_dir,
                pod_access=args.pod_access,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _shared_pod(self, name: str, args: OdooArgs, aws_secrets: SecretFiles) -> tuple[dict[str, Any], list[dict]]:
        """What both Odoo processes share: image, credentials, config, filestore, placement.
        odoo.conf is rendered twice: the bus worker's points at the session-mode pool. Also
        returns the credentials' mount, which the config renderer reads."""
        web_conf = render_odoo_conf(args.settings)
        bus_conf = render_odoo_conf(
            replace(args.settings, db_host=args.session_db_host, db_replica_host=args.session_db_host)
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo-config", namespace=args.namespace),
            data={"odoo.conf": web_conf, "odoo-bus.conf": bus_conf},
            opts=pulumi.ResourceOptions(parent=self),
        )
        #: odoo.conf (web) and odoo-bus.conf, for whatever else runs Odoo's code.
        self.config_map = config.metadata.name
        shared = dict(
            namespace=args.namespace,
            image=args.image,
            security_group_id=args.security_group_id,
            env=[
                {"name": "ODOO_SESSION_REDIS", "value": "1"},
                {"name": "ODOO_SESSION_REDIS_EXPIRATION", "value": "604800"},
                {"name": "ODOO_SESSION_REDIS_URL_FILE", "value": aws_secrets.path("redis-url")},
                # The catalogue search: no credential in the URL, requests signed with the pods' role.
                {"name": "SEARCH_URL", "value": args.search.url},
                {"name": "SEARCH_AUTH", "value": "aws-sigv4"},
                {"name": "AWS_REGION", "value": args.pod_access.region},
            ],
            private_paths={"run": "/run/odoo"},
            volumes=[
                {"name": "config", "configMap": {"name": config.metadata.name}},
                aws_secrets.volume,
                {"name": "filestore", "persistentVolumeClaim": {"claimName": args.filestore_claim}},
            ],
            volume_mounts=[
                {"name": "filestore", "mountPath": args.settings.data_dir},
                aws_secrets.mount,
            ],
            pod_annotations={
                "checksum/config": checksum(web_conf, bus_conf),
                BOOTSTRAP_ANNOTATION: args.bootstrap_revision,
            },
            service_annotations={"alb.ingress.kubernetes.io/healthcheck-path": "/web/health"},
        )
        return shared, [aws_secrets.mount]

    def _web(self, name: str, args: OdooArgs, shared: dict[str, Any], secrets_mount: list[dict]) -> Workload:
        """The HTTP workers, scaled by odoo-hpa; a request may run limitTimeReal before SIGTERM."""
        http = args.settings.http_port
        health = {"httpGet": {"path": "/web/health", "port": http}, "periodSeconds": 10}
        return Workload(
            f"{name}-web",
            WorkloadArgs(
                app=WEB,
                component="web",
                port=http,
                metrics_port=args.metrics_port,
                command=["odoo", "-c", CONF],
                resources=args.resources,
                probes=Probes(
                    startup=health | {"failureThreshold": 30},
                    readiness=health | {"failureThreshold": 3},
                    liveness={"tcpSocket": {"port": http}, "periodSeconds": 20, "failureThreshold": 3},
                ),
                init_containers=[config_renderer(args.image, "odoo.conf", secrets_mount)],
                hpa=args.hpa,
                node_selector=args.web_node_selector,
                termination_grace_seconds=args.settings.limit_time_real_s + 10,
                **shared,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _bus(self, name: str, args: OdooArgs, shared: dict[str, Any], secrets_mount: list[dict]) -> Workload:
        """The bus (gevent) worker: websockets and LISTEN, a fixed number of pods."""
        gevent = args.settings.gevent_port
        socket = {"tcpSocket": {"port": gevent}}
        return Workload(
            f"{name}-longpolling",
            WorkloadArgs(
                app=BUS,
                component="bus",
                port=gevent,
                command=["odoo", "gevent", "-c", CONF],
                resources=args.longpolling_resources,
                probes=Probes(
                    startup=socket | {"periodSeconds": 5, "failureThreshold": 30},
                    readiness=socket | {"periodSeconds": 5, "failureThreshold": 2},
                    liveness=socket | {"periodSeconds": 20, "failureThreshold": 3},
                ),
                init_containers=[config_renderer(args.image, "odoo-bus.conf", secrets_mount)],
                replicas=args.longpolling_replicas,
                node_selector=args.bus_node_selector,
                **shared,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
