"""The FastAPI gateway: Redis-backed cache and rate limiting in front of Odoo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.apps.pgbouncer_config import CLIENT_SSLMODE
from components.apps.search_client import SearchClient
from components.aws.kms import KeyAccess, signing_key
from components.k8s.hpa import HpaSpec
from components.k8s.pod_spec import BOOTSTRAP_ANNOTATION, ContainerResources
from components.k8s.secret_files import PodAccess, SecretObject, SecretRef, pod_secrets
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
    #: The read-only role's secret (user and password alternate with each rotation): mounted
    #: with the pods' own identity as DB_USER_FILE and DB_PASSWORD_FILE.
    db_secret: SecretRef
    #: Its Odoo API key (login and key, issued and rotated in the cluster; empty until the first
    #: issue): ODOO_LOGIN_FILE and ODOO_API_KEY_FILE, which the CSI driver refreshes.
    odoo_key_secret: SecretRef
    #: The API cache group's user (`cache:*`): its secret's URL becomes REDIS_URL_FILE.
    cache_secret: SecretRef
    #: The sessions group's rate-limit user (`ratelimit:*`, never evicted): RATE_LIMIT_REDIS_URL_FILE.
    rate_limit_secret: SecretRef
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess
    #: The database bootstrap's revision: the pods start after it and roll with it.
    bootstrap_revision: pulumi.Input[str]
    #: The catalogue search (OpenSearch): its URL, and the domain the gateway's role may read.
    search: SearchClient
    #: api-gateway-hpa.
    hpa: HpaSpec
    #: The gateway container's requests and limits; its HPA's CPU target is relative to them.
    resources: ContainerResources
    #: Port of the gateway's Prometheus metrics.
    metrics_port: int
    #: Node labels the pods require.
    node_selector: Mapping[str, str]
    #: The security group its pods wear (security groups for pods): its Redis groups and
    #: OpenSearch admit it.
    security_group_id: pulumi.Input[str]
    #: Who administers the token-signing key (the deploy role), in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the token-signing key (its loss invalidates every token).
    protect: bool


class ApiGateway(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:api_gateway:ApiGateway"

    def __init__(self, name: str, args: ApiGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        files = {
            "DB_USER": (args.db_secret, "username"),
            "DB_PASSWORD": (args.db_secret, "password"),
            "REDIS_URL": (args.cache_secret, "url"),
            "RATE_LIMIT_REDIS_URL": (args.rate_limit_secret, "url"),
            "ODOO_LOGIN": (args.odoo_key_secret, "login"),
            "ODOO_API_KEY": (args.odoo_key_secret, "key"),
        }
        secrets = (args.db_secret, args.cache_secret, args.rate_limit_secret, args.odoo_key_secret)
        objects = [
            SecretObject(secret, {field: variable.lower() for variable, (ref, field) in files.items() if ref is secret})
            for secret in secrets
        ]
        aws_secrets, identity = pod_secrets(
            name, "api-gateway-aws", args.namespace, [APP], objects, args.pod_access, self, args.search.statements()
        )
        #: The gateway's IAM role: the catalogue reader in OpenSearch's role mappings.
        self.role_arn = identity.role_arn
        tokens = signing_key(
            f"{name}-token-key", "API gateway token signing (ES256)", self, args.protect, args.key_access, self.role_arn
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
                    # libpq's own variable: TLS to PgBouncer, whose hba admits nothing else.
                    {"name": "PGSSLMODE", "value": CLIENT_SSLMODE},
                    # The catalogue search: no credential in the URL, requests signed with the pods' role.
                    {"name": "SEARCH_URL", "value": args.search.url},
                    {"name": "SEARCH_AUTH", "value": "aws-sigv4"},
                    {"name": "AWS_REGION", "value": args.pod_access.region},
                    # Its tokens are signed by KMS with the pods' role: no signing secret exists.
                    {"name": "TOKEN_SIGNING_KEY_ARN", "value": tokens.arn},
                    {"name": "TOKEN_SIGNING_ALGORITHM", "value": "ES256"},
                    *({"name": f"{variable}_FILE", "value": aws_secrets.path(variable.lower())} for variable in files),
                ],
                volumes=[aws_secrets.volume],
                volume_mounts=[aws_secrets.mount],
                resources=args.resources,
                probes=Probes(
                    startup=health | {"periodSeconds": 2, "failureThreshold": 30},
                    readiness=health | {"periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 2},
                    liveness=health | {"periodSeconds": 20, "failureThreshold": 3, "timeoutSeconds": 5},
                ),
                pod_annotations={BOOTSTRAP_ANNOTATION: args.bootstrap_revision},
                service_annotations={"alb.ingress.kubernetes.io/healthcheck-path": "/health"},
                node_selector=args.node_selector,
                hpa=args.hpa,
                termination_grace_seconds=30,
                security_group_id=args.security_group_id,
            ),
            opts=child,
        )
        self.service = workload.service_name
        self.peer = workload.peer
        self.register_outputs({"service": self.service})
