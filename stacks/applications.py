"""Application composition on EKS: namespace, PgBouncer, filestore, metrics, Odoo, the API
gateway, the ALB ingress and the network policies."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.apps.api_gateway import ApiGateway, ApiGatewayArgs
from components.apps.filestore import SharedFilesystem, SharedFilesystemArgs
from components.apps.ingress import AppIngress, AppIngressArgs, Route
from components.apps.kubernetes_network_policies import AppFlows, AppNetworkPolicies
from components.apps.monitoring import Monitoring, MonitoringArgs, ScrapeTarget
from components.apps.namespace import AppNamespace, AppNamespaceArgs
from components.apps.odoo import Odoo, OdooArgs
from components.apps.odoo_config import OdooSettings
from components.apps.pgbouncer import METRICS_PORT as PGBOUNCER_METRICS_PORT
from components.apps.pgbouncer import PgBouncer, PgBouncerArgs
from components.compute.karpenter_manifests import ELASTIC_LABEL, STEADY_LABEL
from components.data.postgres import PostgresDatabase
from components.data.redis import RedisCache
from components.k8s.hpa import HpaSettings, hpa_spec
from components.network.vpc import Network

from .compute import ComputeTier
from .schema import PlatformConfig
from .wiring import args_from

NAMESPACE = "smartdairy"
#: Node labels set by the Karpenter NodePool templates (components/karpenter_resources.py).
STEADY_NODES = {STEADY_LABEL: "true"}
ELASTIC_NODES = {ELASTIC_LABEL: "true"}
ODOO_PORT, LONGPOLLING_PORT = 8069, 8072


@dataclass
class Applications:
    pgbouncer: PgBouncer
    ingress: AppIngress


def applications(
    prefix: str,
    config: PlatformConfig,
    network: Network,
    database: PostgresDatabase,
    caches: dict[str, RedisCache],
    compute: ComputeTier,
    opts: pulumi.ResourceOptions,
) -> Applications:
    namespace = AppNamespace(f"{prefix}-apps", AppNamespaceArgs(name=NAMESPACE), opts=opts).name
    pgbouncer = _pgbouncer(prefix, config, database, namespace, opts)
    workloads = config.workloads
    filestore = SharedFilesystem(
        f"{prefix}-filestore",
        SharedFilesystemArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            namespace=namespace,
            claim_name="odoo-filestore",
            claim_size_gb=workloads.odoo.filestore_gb,
            protect=config.protect_stateful_resources,
        ),
        opts=opts,
    )
    # Sessions live in the noeviction group when the layout is split.
    sessions = caches.get("sessions", caches.get("shared"))
    api_cache = caches.get("cache", caches.get("shared"))
    odoo = workloads.odoo
    Odoo(
        f"{prefix}-odoo",
        OdooArgs(
            namespace=namespace,
            image=odoo.image,
            settings=OdooSettings(
                db_name=database.database_name,
                db_user=database.master_username,
                db_host=pgbouncer.service_hosts["rw"],
                db_replica_host=pgbouncer.service_hosts["ro"],
                db_port=5432,
                db_maxconn=odoo.db_maxconn,
                workers=odoo.workers,
                max_cron_threads=odoo.max_cron_threads,
                limit_memory_soft_mb=odoo.limit_memory_soft_mb,
                limit_memory_hard_mb=odoo.limit_memory_hard_mb,
                limit_time_cpu_s=odoo.limit_time_cpu_s,
                limit_time_real_s=odoo.limit_time_real_s,
            ),
            session_db_host=pgbouncer.service_hosts["session"],
            db_password=database.master_password,
            redis_url=sessions.url,
            filestore_claim=filestore.claim_name,
            hpa=hpa_spec(args_from(odoo.hpa, HpaSettings), {}),
            longpolling_replicas=odoo.longpolling_replicas,
            resources=odoo.resources.as_k8s(),
            longpolling_resources=odoo.longpolling_resources.as_k8s(),
            metrics_port=workloads.metrics_port,
            web_node_selector=ELASTIC_NODES,
            bus_node_selector=STEADY_NODES,
        ),
        opts=opts,
    )
    gateway = workloads.gateway
    ApiGateway(
        f"{prefix}-api-gateway",
        ApiGatewayArgs(
            namespace=namespace,
            image=gateway.image,
            port=gateway.port,
            odoo_url=f"http://odoo.{NAMESPACE}.svc:{ODOO_PORT}",
            db_host=pgbouncer.service_hosts["rw"],
            db_name=database.database_name,
            db_user=database.master_username,
            db_pool_size=gateway.db_pool_size,
            db_password=database.master_password,
            redis_url=api_cache.url,
            hpa=hpa_spec(args_from(gateway.hpa, HpaSettings), {"service": "api-gateway"}),
            resources=gateway.resources.as_k8s(),
            metrics_port=workloads.metrics_port,
            node_selector=ELASTIC_NODES,
        ),
        opts=opts,
    )
    monitoring = config.monitoring
    metrics = Monitoring(
        f"{prefix}-monitoring",
        MonitoringArgs(
            prometheus_chart_version=monitoring.prometheus_chart_version,
            adapter_chart_version=monitoring.adapter_chart_version,
            retention=monitoring.retention,
            storage_gb=monitoring.storage_gb,
            storage_class=compute.block_storage_class,
            scrape_targets=[
                ScrapeTarget("odoo", namespace, {"app.kubernetes.io/name": "odoo"}),
                ScrapeTarget("api-gateway", namespace, {"app.kubernetes.io/name": "api-gateway"}),
                ScrapeTarget("pgbouncer", namespace, {"app.kubernetes.io/name": "pgbouncer"}),
            ],
            node_selector=STEADY_NODES,
        ),
        opts=opts,
    )
    ingress = AppIngress(
        f"{prefix}-ingress",
        AppIngressArgs(
            namespace=namespace,
            ingress_class="alb",
            origin_domain=config.cdn.api_origin_domain or f"origin.{config.cdn.domain}",
            hosted_zone_id=config.cdn.hosted_zone_id,
            region=config.region,
            routes=[
                Route("/websocket", "odoo-longpolling", LONGPOLLING_PORT),
                Route("/longpolling", "odoo-longpolling", LONGPOLLING_PORT),
                Route("/api", "api-gateway", gateway.port),
                Route("/web", "odoo", ODOO_PORT),
                Route("/", "odoo", ODOO_PORT),
            ],
            controller=compute.ingress_controller,
        ),
        opts=opts,
    )
    AppNetworkPolicies(
        f"{prefix}-netpol",
        AppFlows(
            namespace=namespace,
            monitoring_namespace=metrics.namespace,
            alb_cidrs=network.subnet_cidrs["public"],
            data_cidrs=network.subnet_cidrs["isolated"],
            odoo={"app.kubernetes.io/name": "odoo"},
            longpolling={"app.kubernetes.io/name": "odoo-longpolling"},
            gateway={"app.kubernetes.io/name": "api-gateway"},
            pgbouncer={"app.kubernetes.io/name": "pgbouncer"},
            ports={
                "odoo": ODOO_PORT,
                "longpolling": LONGPOLLING_PORT,
                "gateway": gateway.port,
                "pgbouncer": 6432,
                "redis": 6379,
                "postgres": database.port,
                "metrics": workloads.metrics_port,
                "pgbouncer_metrics": PGBOUNCER_METRICS_PORT,
            },
        ),
        opts=opts,
    )
    return Applications(pgbouncer=pgbouncer, ingress=ingress)


def _pgbouncer(
    prefix: str,
    config: PlatformConfig,
    database: PostgresDatabase,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> PgBouncer:
    pool = config.pgbouncer
    return PgBouncer(
        f"{prefix}-pgbouncer",
        PgBouncerArgs(
            namespace=namespace,
            database=database.database_name,
            primary_host=database.primary_endpoint,
            replica_hosts=database.replica_endpoints,
            port=database.port,
            username=database.master_username,
            password=database.master_password,
            roles=pool.roles(),
            timeouts=pool.timeouts(),
            budget=config.connection_budget(),
            image=pool.image,
            exporter_image=pool.exporter_image,
            resources={
                "requests": {"cpu": pool.cpu_request, "memory": pool.memory_request},
                "limits": {"cpu": pool.cpu_limit, "memory": pool.memory_limit},
            },
            node_selector=STEADY_NODES,
        ),
        opts=opts,
    )
