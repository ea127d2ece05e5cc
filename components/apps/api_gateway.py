"""The FastAPI gateway: Redis-backed cache and rate limiting in front of Odoo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.aws.iam_documents import secret_read_statements
from components.aws.pod_identity import workload_identity
from components.k8s.hpa import HpaSpec
from components.k8s.mounted_secret import mounted_secret
from components.k8s.pod_spec import ContainerResources
from components.k8s.secret_files import secret_files
from components.k8s.workload import Probes, Workload, WorkloadArgs

APP = "api-gateway"


@dataclass(frozen=True)
class ApiGatewayArgs:
    #: Namespace of the gateway.
    namespace: pulumi.Input[str]
    #: Gateway image (pinned tag) and its HTTP port.
    image: str
    #: The container's HTTP port, also the Service's and the ALB target's.
    port: int
    #: Odoo's in-cluster URL.
    odoo_url: str
    #: PgBouncer's ro Service (the replicas), and the database it reads.
    db_host: str
    #: The database it reads.
    db_name: str
    #: Connections per gateway pod (the PgBouncer budget counts them).
    db_pool_size: int
    #: The read-only role's secret (user and password alternate with each rotation) and its
    #: key: mounted as DB_USER_FILE and DB_PASSWORD_FILE with the pods' own identity.
    db_secret_arn: pulumi.Input[str]
    #: The key the read-only role's secret is encrypted with.
    db_secret_key_arn: pulumi.Input[str]
    #: The cluster whose Pod Identity lets the pods read that secret.
    cluster_name: pulumi.Input[str]
    #: The region of the cluster and the secret.
    region: str
    #: The Secrets Store CSI driver: the SecretProviderClass waits for its CRD.
    secrets_store: Sequence[pulumi.Resource]
    #: The database bootstrap's revision: the pods start after it and roll with it.
    bootstrap_revision: pulumi.Input[str]
    #: The API cache's URL, and the sessions group's for the rate-limit windows (they must
    #: never be evicted: the noeviction group when the layout is split); credentials encoded.
    redis_url: pulumi.Input[str]
    #: The sessions group's URL, for the rate-limit windows (never evicted), credentials encoded.
    rate_limit_redis_url: pulumi.Input[str]
    #: The catalogue search (OpenSearch) URL, credentials percent-encoded.
    search_url: pulumi.Input[str]
    #: api-gateway-hpa.
    hpa: HpaSpec
    #: The gateway container's requests and limits; its HPA's CPU target is relative to them.
    resources: ContainerResources
    #: Port of the gateway's Prometheus metrics.
    metrics_port: int
    #: Node labels the pods require.
    node_selector: Mapping[str, str]


class ApiGateway(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:api_gateway:ApiGateway"

    def __init__(self, name: str, args: ApiGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workload_identity(
            name,
            args.cluster_name,
            args.namespace,
            [APP],
            secret_read_statements([args.db_secret_arn], [args.db_secret_key_arn], args.region),
            self,
        )
        database = secret_files(
            "api-gateway-database",
            "api-gateway-database",
            args.namespace,
            args.region,
            args.db_secret_arn,
            ("username", "password"),
            self,
            args.secrets_store,
        )
        credentials = mounted_secret(
            f"{name}-secrets",
            APP,
            args.namespace,
            {
                "redis-url": args.redis_url,
                "rate-limit-redis-url": args.rate_limit_redis_url,
                "search-url": args.search_url,
            },
            {
                "REDIS_URL": "redis-url",
                "RATE_LIMIT_REDIS_URL": "rate-limit-redis-url",
                "SEARCH_URL": "search-url",
            },
            parent=self,
        )
        health = {"httpGet": {"path": "/health", "port": args.port}}
        workload = Workload(
            name,
            WorkloadArgs(
                namespace=args.namespace,
                app=APP,
                component="gateway",
                image=args.image,
                port=args.port,
                metrics_port=args.metrics_port,
                env=[
                    {"name": "ODOO_URL", "value": args.odoo_url},
                    {"name": "DB_HOST", "value": args.db_host},
                    {"name": "DB_NAME", "value": args.db_name},
                    {"name": "DB_POOL_SIZE", "value": str(args.db_pool_size)},
                    # Transaction pooling: no server-side prepared statements (psycopg).
                    {"name": "DB_PREPARE_THRESHOLD", "value": "none"},
                    *credentials.env,
                    {"name": "DB_USER_FILE", "value": f"{database.directory}/username"},
                    {"name": "DB_PASSWORD_FILE", "value": f"{database.directory}/password"},
                ],
                volumes=[credentials.volume, database.volume],
                volume_mounts=[credentials.mount, database.mount],
                resources=args.resources,
                probes=Probes(
                    startup=health | {"periodSeconds": 2, "failureThreshold": 30},
                    readiness=health | {"periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 2},
                    liveness=health | {"periodSeconds": 20, "failureThreshold": 3, "timeoutSeconds": 5},
                ),
                pod_annotations=credentials.pod_annotations(args.bootstrap_revision),
                service_annotations={"alb.ingress.kubernetes.io/healthcheck-path": "/health"},
                node_selector=args.node_selector,
                hpa=args.hpa,
                termination_grace_seconds=30,
            ),
            opts=child,
        )
        self.service = workload.service_name
        self.peer = workload.peer
        self.register_outputs({"service": self.service})
