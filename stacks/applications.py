"""Application composition on EKS: namespace, PgBouncer, filestore, metrics, Odoo, the API
gateway, the ALB ingress and the network policies.

Names, labels and ports of one app reach another only through the components' outputs (their
`PodPeer`s and service names), never retyped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.apps.api_gateway import ApiGateway, ApiGatewayArgs
from components.apps.database_bootstrap import DatabaseBootstrap, DatabaseBootstrapArgs
from components.apps.database_bootstrap_sql import AUTH_QUERY, DatabaseRoles
from components.apps.filestore import SharedFilesystem, SharedFilesystemArgs
from components.apps.ingress import AppIngress, AppIngressArgs, Route
from components.apps.kubernetes_network_policies import AppNetworkPolicies, AppNetworkPoliciesArgs
from components.apps.load_test import LoadTest, LoadTestArgs
from components.apps.namespace import AppNamespace, AppNamespaceArgs
from components.apps.odoo import Odoo, OdooArgs
from components.apps.odoo_config import OdooSettings
from components.apps.pgbouncer import PgBouncer, PgBouncerArgs
from components.apps.pgbouncer_config import ServerTimeouts
from components.compute.karpenter_manifests import ELASTIC_LABEL, STEADY_LABEL
from components.data import redis as redis_component
from components.data.postgres import PostgresDatabase
from components.data.redis import RedisCache
from components.data.search import SearchDomain
from components.k8s.hpa import HpaSettings, hpa_spec
from components.network.vpc import Network
from components.observability.alarm_topic import AlarmTopic
from components.observability.grafana_dashboards import DashboardTargets, dashboards
from components.observability.monitoring import Monitoring, MonitoringArgs, ScrapeTarget
from components.observability.slo_rules import SloTargets, slo_rule_groups

from .compute import ComputeTier
from .schema import PlatformConfig
from .wiring import args_from, pool_roles

NAMESPACE = "smartdairy"
#: The seed's k6 journey and scenarios (components/apps/loadtest/), shipped to the cluster as a ConfigMap.
LOAD_TEST_SCRIPT = Path(__file__).resolve().parent.parent / "components" / "apps" / "loadtest" / "full_load_test.js"
#: Node labels set by the Karpenter NodePool templates (components/compute/karpenter_manifests.py).
STEADY_NODES = {STEADY_LABEL: "true"}
ELASTIC_NODES = {ELASTIC_LABEL: "true"}


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
    search: SearchDomain,
    compute: ComputeTier,
    alarm_topic: AlarmTopic,
    opts: pulumi.ResourceOptions,
) -> Applications:
    namespace = AppNamespace(f"{prefix}-apps", AppNamespaceArgs(name=NAMESPACE), opts=opts).name
    roles = _bootstrap(prefix, config, network, database, namespace, opts)
    pgbouncer = _pgbouncer(prefix, config, database, roles, namespace, opts)
    # Sessions and rate limits live in the noeviction group when the layout is split.
    sessions = caches["sessions"] if "sessions" in caches else caches["shared"]
    api_cache = caches["cache"] if "cache" in caches else caches["shared"]
    odoo = _odoo(prefix, config, network, database, roles, pgbouncer, sessions, search, namespace, opts)
    gateway = _gateway(prefix, config, database, roles, pgbouncer, odoo, api_cache, sessions, search, namespace, opts)
    slo_services = [gateway.service, odoo.web_service]
    metrics = Monitoring(
        f"{prefix}-monitoring",
        args_from(
            config.monitoring,
            MonitoringArgs,
            storage_class=compute.block_storage_class,
            scrape_targets=[
                ScrapeTarget(service, namespace, peer.labels)
                for service, peer in (
                    (odoo.web_service, odoo.web),
                    (gateway.service, gateway.peer),
                    ("pgbouncer", pgbouncer.peer),
                )
            ],
            rule_groups=slo_rule_groups(args_from(config.monitoring.slo, SloTargets, services=slo_services)),
            dashboards=dashboards(
                DashboardTargets(
                    prefix=prefix,
                    region=config.region,
                    namespace=NAMESPACE,
                    services=slo_services,
                    latency_p95_s=config.monitoring.slo.latency_p95_s,
                    availability=config.monitoring.slo.availability,
                    max_connections=database.max_connections,
                    rds_latency_ms=config.monitoring.alarms.rds_latency_ms,
                    cache_hit_rate_percent=config.monitoring.alarms.cache_hit_rate_percent,
                    cdn_hit_rate_percent=config.monitoring.alarms.cdn_hit_rate_percent,
                    search_domain=search.domain_name,
                    search_latency_ms=config.monitoring.alarms.search_latency_ms,
                )
            ),
            node_selector=STEADY_NODES,
            cluster_name=compute.cluster.name,
            region=config.region,
            alarm_topic_arn=alarm_topic.topic_arn,
            alarm_topic_key_arn=alarm_topic.key_arn,
            remote_write_receiver=config.load_test.enabled,
        ),
        opts=opts,
    )
    if config.load_test.enabled:
        _load_test(prefix, config, metrics.remote_write_url, opts)
    ingress = AppIngress(
        f"{prefix}-ingress",
        AppIngressArgs(
            namespace=namespace,
            ingress_class=compute.ingress_class,
            origin_domain=config.cdn.api_origin_domain or f"origin.{config.cdn.domain}",
            hosted_zone_id=config.cdn.hosted_zone_id,
            region=config.region,
            load_balancer_name=f"{prefix}-api",
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            origin_secret_version=config.cdn.origin_secret_version,
            waf_log_retention_days=config.cdn.waf.log_retention_days,
            routes=[
                Route("/websocket", odoo.longpolling_service, odoo.bus.port),
                Route("/longpolling", odoo.longpolling_service, odoo.bus.port),
                Route("/api", gateway.service, gateway.peer.port),
                Route("/web", odoo.web_service, odoo.web.port),
                Route("/", odoo.web_service, odoo.web.port),
            ],
            controller=compute.ingress_controller,
        ),
        opts=opts,
    )
    AppNetworkPolicies(
        f"{prefix}-netpol",
        AppNetworkPoliciesArgs(
            namespace=namespace,
            monitoring_namespace=metrics.namespace,
            alb_cidrs=network.subnet_cidrs["public"],
            data_cidrs=network.subnet_cidrs["isolated"],
            odoo=odoo.web,
            longpolling=odoo.bus,
            gateway=gateway.peer,
            pgbouncer=pgbouncer.peer,
            redis_port=redis_component.PORT,
            postgres_port=database.port,
            search_port=search.port,
        ),
        opts=opts,
    )
    return Applications(pgbouncer=pgbouncer, ingress=ingress)


def _load_test(prefix: str, config: PlatformConfig, remote_write_url: str, opts: pulumi.ResourceOptions) -> LoadTest:
    test = config.load_test
    return LoadTest(
        f"{prefix}-load-test",
        args_from(
            test,
            LoadTestArgs,
            namespace="loadtest",
            base_url=test.base_url or f"https://{config.cdn.domain}",
            script=LOAD_TEST_SCRIPT.read_text(),
            remote_write_url=remote_write_url,
            node_selector=STEADY_NODES,
        ),
        opts=opts,
    )


def _bootstrap(
    prefix: str,
    config: PlatformConfig,
    network: Network,
    database: PostgresDatabase,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> DatabaseBootstrap:
    """The least-privilege roles every application connects as; the master user stays here."""
    bootstrap = config.database.bootstrap
    return DatabaseBootstrap(
        f"{prefix}-db-bootstrap",
        args_from(
            bootstrap,
            DatabaseBootstrapArgs,
            namespace=namespace,
            roles=DatabaseRoles(
                database=database.database_name,
                master_user=database.master_username,
                reader_tables=tuple(bootstrap.reader_tables),
            ),
            primary_host=database.primary_endpoint,
            port=database.port,
            master_password=database.master_password,
            data_cidrs=network.subnet_cidrs["isolated"],
            node_selector=STEADY_NODES,
        ),
        opts=opts,
    )


def _odoo(
    prefix: str,
    config: PlatformConfig,
    network: Network,
    database: PostgresDatabase,
    roles: DatabaseBootstrap,
    pgbouncer: PgBouncer,
    sessions: RedisCache,
    search: SearchDomain,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> Odoo:
    odoo = config.workloads.odoo
    filestore = SharedFilesystem(
        f"{prefix}-filestore",
        SharedFilesystemArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            namespace=namespace,
            claim_name="odoo-filestore",
            claim_size_gb=odoo.filestore_gb,
            protect=config.protect_stateful_resources,
        ),
        opts=opts,
    )
    return Odoo(
        f"{prefix}-odoo",
        args_from(
            odoo,
            OdooArgs,
            namespace=namespace,
            settings=args_from(
                odoo,
                OdooSettings,
                db_name=database.database_name,
                db_user=roles.owner,
                db_host=pgbouncer.service_hosts["rw"],
                db_replica_host=pgbouncer.service_hosts["ro"],
                db_port=pgbouncer.port,
            ),
            session_db_host=pgbouncer.service_hosts["session"],
            db_password=roles.owner_password,
            bootstrap_revision=roles.revision,
            redis_url=sessions.url,
            search_url=search.url,
            filestore_claim=filestore.claim_name,
            hpa=hpa_spec(args_from(odoo.hpa, HpaSettings), {}),
            metrics_port=config.workloads.metrics_port,
            web_node_selector=ELASTIC_NODES,
            bus_node_selector=STEADY_NODES,
        ),
        opts=opts,
    )


def _gateway(
    prefix: str,
    config: PlatformConfig,
    database: PostgresDatabase,
    roles: DatabaseBootstrap,
    pgbouncer: PgBouncer,
    odoo: Odoo,
    api_cache: RedisCache,
    sessions: RedisCache,
    search: SearchDomain,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> ApiGateway:
    gateway = config.workloads.gateway
    return ApiGateway(
        f"{prefix}-api-gateway",
        args_from(
            gateway,
            ApiGatewayArgs,
            namespace=namespace,
            odoo_url=f"http://{odoo.web_service}.{NAMESPACE}.svc:{odoo.web.port}",
            # The gateway only reads: the replicas, as the read-only role.
            db_host=pgbouncer.service_hosts["ro"],
            db_name=database.database_name,
            db_user=roles.reader,
            db_password=roles.reader_password,
            bootstrap_revision=roles.revision,
            redis_url=api_cache.url,
            rate_limit_redis_url=sessions.url,
            search_url=search.url,
            hpa=hpa_spec(args_from(gateway.hpa, HpaSettings), {"service": "api-gateway"}),
            metrics_port=config.workloads.metrics_port,
            node_selector=ELASTIC_NODES,
        ),
        opts=opts,
    )


def _pgbouncer(
    prefix: str,
    config: PlatformConfig,
    database: PostgresDatabase,
    roles: DatabaseBootstrap,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> PgBouncer:
    pool = config.pgbouncer
    return PgBouncer(
        f"{prefix}-pgbouncer",
        args_from(
            pool,
            PgBouncerArgs,
            namespace=namespace,
            database=database.database_name,
            primary_host=database.primary_endpoint,
            replica_hosts=database.replica_endpoints,
            port=database.port,
            auth_user=roles.auth_user,
            auth_password=roles.auth_password,
            auth_query=AUTH_QUERY,
            bootstrap_revision=roles.revision,
            roles=pool_roles(pool),
            timeouts=args_from(pool, ServerTimeouts),
            budget=config.connection_budget(),
            node_selector=STEADY_NODES,
        ),
        opts=opts,
    )
