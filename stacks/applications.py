"""Application composition on EKS: namespace, PgBouncer, filestore, metrics, Odoo, the API
gateway, the ALB ingress and the network policies.

Names, labels and ports of one app reach another only through the components' outputs (their
`PodPeer`s and service names), never retyped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pulumi

from capacity.assumptions import Assumptions
from components.apps.api_gateway import ApiGateway, ApiGatewayArgs
from components.apps.database_bootstrap import DatabaseBootstrap, DatabaseBootstrapArgs
from components.apps.database_bootstrap_sql import AUTH_QUERY, DatabaseRoles
from components.apps.filestore import SharedFilesystem, SharedFilesystemArgs
from components.apps.ingress import AppIngress, AppIngressArgs, Route
from components.apps.kubernetes_network_policies import AppNetworkPolicies, AppNetworkPoliciesArgs
from components.apps.load_test import LoadTest, LoadTestArgs
from components.apps.load_test_data import LoadTestData, LoadTestDataArgs
from components.apps.namespace import AppNamespace, AppNamespaceArgs
from components.apps.odoo import Odoo, OdooArgs
from components.apps.odoo_api_key import GATEWAY_USER, OdooApiKey, OdooApiKeyArgs, ServiceUser
from components.apps.odoo_config import OdooSettings
from components.apps.odoo_release import ReleasePlan
from components.apps.pgbouncer import PgBouncer, PgBouncerArgs
from components.apps.pgbouncer_config import ServerTimeouts
from components.apps.search_client import SearchClient
from components.compute.karpenter_manifests import ELASTIC_LABEL, STEADY_LABEL
from components.data import redis as redis_component
from components.data.database_credentials import DatabaseCredentials, DatabaseCredentialsArgs
from components.data.redis import RedisCache
from components.data.redis_acl import GATEWAY_CACHE, GATEWAY_RATE_LIMIT, ODOO_SESSIONS, RedisClient
from components.data.rotation.secret_values import pair
from components.data.search_roles import HTTP_ACTIONS as SEARCH_HTTP_ACTIONS
from components.data.search_roles import ROLES as SEARCH_ROLES
from components.edge.origin_guard import ROOT_KEY_ACCEPTED_UNTIL, rotation_period
from components.k8s.hpa import ScheduledFloor, hpa_spec
from components.k8s.secret_files import PodAccess, SecretRef
from components.k8s.workload import PodPeer
from components.network.vpc import Network
from components.observability.alert_routing import AlertDestinations
from components.observability.grafana_dashboards import DashboardTargets, dashboards
from components.observability.metrics_rules import floor_rule_group
from components.observability.monitoring import Monitoring, MonitoringArgs, ScrapeTarget
from components.observability.slo_rules import SloTargets, slo_rule_groups

from .compute import ComputeTier
from .context import DataTier, StackContext
from .data import DB_BOOTSTRAP, GATEWAY, ODOO, PGBOUNCER
from .schema import PlatformConfig
from .wiring import args_from, pool_roles

NAMESPACE = "smartdairy"
#: The load test's namespace: its k6 runners push their samples to Prometheus from there.
LOAD_TEST_NAMESPACE = "loadtest"
#: The seed's k6 journey and scenarios (components/apps/loadtest/), shipped to the cluster as a ConfigMap.
LOAD_TEST_SCRIPT = Path(__file__).resolve().parent.parent / "components" / "apps" / "loadtest" / "full_load_test.js"
#: Node labels set by the Karpenter NodePool templates (components/compute/karpenter_manifests.py).
STEADY_NODES = {STEADY_LABEL: "true"}
ELASTIC_NODES = {ELASTIC_LABEL: "true"}


def today() -> date:
    """The date the origin header's rotation period is taken from (UTC)."""
    return datetime.now(UTC).date()


@dataclass
class Applications:
    pgbouncer: PgBouncer
    ingress: AppIngress


@dataclass(frozen=True)
class AppInputs:
    """What the applications build on: the tiers below them, their namespace, and the options
    (regional AWS and the cluster's Kubernetes provider) every application component takes."""

    network: Network
    data: DataTier
    compute: ComputeTier
    alerts: AlertDestinations
    namespace: pulumi.Input[str]
    opts: pulumi.ResourceOptions


def applications(
    ctx: StackContext, network: Network, data: DataTier, compute: ComputeTier, alerts: AlertDestinations
) -> Applications:
    opts = pulumi.ResourceOptions(providers=[ctx.regional, compute.kubernetes])
    namespace = AppNamespace(f"{ctx.prefix}-apps", AppNamespaceArgs(name=NAMESPACE), opts=opts).name
    inputs = AppInputs(network, data, compute, alerts, namespace, opts)
    roles = _bootstrap(ctx, inputs)
    credentials = _credentials(ctx, inputs, roles)
    pgbouncer = _pgbouncer(ctx, inputs, roles, credentials)
    odoo = _odoo(ctx, inputs, roles, credentials, pgbouncer)
    issuer = OdooIssuer(inputs, _role_secret(inputs, credentials, "owner"), pgbouncer, odoo)
    odoo_key = _odoo_api_key(
        ctx, issuer, GATEWAY_USER, "The API gateway's Odoo API key, issued and rotated by the odoo-api-key CronJob."
    )
    gateway = _gateway(ctx, inputs, roles, credentials, pgbouncer, odoo, odoo_key)
    data.search.apply_security(
        f"{ctx.prefix}-search-security",
        SEARCH_ROLES,
        {"catalogue_writer": [odoo.role_arn], "catalogue_reader": [gateway.role_arn]},
        parent=data.search,
    )
    scraped = [(odoo.web_service, odoo.web), (gateway.service, gateway.peer), ("pgbouncer", pgbouncer.peer)]
    metrics = _monitoring(ctx, inputs, scraped, slo_services=[gateway.service, odoo.web_service])
    load_test = _load_test(ctx, issuer, metrics) if ctx.config.load_test.enabled else []
    ingress = _ingress(ctx, inputs, odoo, gateway)
    AppNetworkPolicies(
        f"{ctx.prefix}-netpol",
        AppNetworkPoliciesArgs(
            namespace=namespace,
            monitoring_namespace=metrics.namespace,
            alb_cidrs=network.subnet_cidrs["public"],
            data_cidrs=network.subnet_cidrs["isolated"],
            odoo=odoo.web,
            longpolling=odoo.bus,
            gateway=gateway.peer,
            pgbouncer=pgbouncer.peer,
            odoo_jobs=[odoo_key.peer, odoo.release, *(peers.issuer for peers in load_test)],
            odoo_callers=[peers.seeder for peers in load_test],
            redis_port=redis_component.PORT,
            postgres_port=data.database.port,
            search_port=data.search.port,
        ),
        opts=opts,
    )
    return Applications(pgbouncer=pgbouncer, ingress=ingress)


def _monitoring(
    ctx: StackContext, inputs: AppInputs, scraped: list[tuple[str, PodPeer]], slo_services: list[str]
) -> Monitoring:
    """Prometheus and friends, scraping each (service, peer); SLO rules for `slo_services`."""
    config = ctx.config
    return Monitoring(
        f"{ctx.prefix}-monitoring",
        ctx.args(
            config.monitoring,
            MonitoringArgs,
            storage_class=inputs.compute.block_storage_class,
            scrape_targets=[ScrapeTarget(service, inputs.namespace, peer.labels) for service, peer in scraped],
            rule_groups=[
                *slo_rule_groups(args_from(config.monitoring.slo, SloTargets, services=slo_services)),
                *floor_rule_group(scheduled_floors(config)),
            ],
            dashboards=dashboards(_dashboard_targets(ctx, inputs.data, slo_services)),
            node_selector=STEADY_NODES,
            cluster_name=inputs.compute.cluster.name,
            alerts=inputs.alerts,
            remote_write_namespaces=[LOAD_TEST_NAMESPACE] if config.load_test.enabled else [],
            cluster_cidrs=inputs.network.subnet_cidrs["private"],
            node_pools=inputs.compute.node_pools,
            release_timeout_s=release_timeout_s(Assumptions()),
        ),
        opts=inputs.opts,
    )


def release_timeout_s(a: Assumptions) -> int:
    """Helm's wait for a release whose pods may each need a new node: Helm's default (300 s)
    plus the capacity model's node launch and the slowest image pull, twice (a node for the
    pods, then one for what they displace)."""
    return 300 + 2 * round(a.node_launch_s + max(a.image_pull_s.values()))


def _dashboard_targets(ctx: StackContext, data: DataTier, services: list[str]) -> DashboardTargets:
    slo, alarms = ctx.config.monitoring.slo, ctx.config.monitoring.alarms
    return ctx.build(
        DashboardTargets,
        prefix=ctx.prefix,
        namespace=NAMESPACE,
        services=services,
        latency_p95_s=slo.latency_p95_s,
        availability=slo.availability,
        max_connections=data.database.max_connections,
        rds_latency_ms=alarms.rds_latency_ms,
        cache_hit_rate_percent=alarms.cache_hit_rate_percent,
        cdn_hit_rate_percent=alarms.cdn_hit_rate_percent,
        search_domain=data.search.domain_name,
        search_latency_ms=alarms.search_latency_ms,
    )


def _ingress(ctx: StackContext, inputs: AppInputs, odoo: Odoo, gateway: ApiGateway) -> AppIngress:
    cdn, now = ctx.config.cdn, today()
    return AppIngress(
        f"{ctx.prefix}-ingress",
        ctx.build(
            AppIngressArgs,
            namespace=inputs.namespace,
            ingress_class=inputs.compute.ingress_class,
            origin_domain=cdn.api_origin_domain or f"origin.{cdn.domain}",
            hosted_zone_id=cdn.hosted_zone_id,
            load_balancer_name=f"{ctx.prefix}-api",
            vpc_id=inputs.network.vpc_id,
            vpc_cidr=inputs.network.vpc_cidr,
            origin_secret_version=cdn.origin_secret_version,
            origin_secret_period=rotation_period(now, cdn.origin_secret_rotation_days),
            accept_root_key=now < ROOT_KEY_ACCEPTED_UNTIL,
            waf_log_retention_days=cdn.waf.log_retention_days,
            access_log_retention_days=cdn.access_log_retention_days,
            routes=[
                Route("/websocket", odoo.longpolling_service, odoo.bus.port),
                Route("/longpolling", odoo.longpolling_service, odoo.bus.port),
                Route("/api", gateway.service, gateway.peer.port),
                Route("/web", odoo.web_service, odoo.web.port),
                Route("/", odoo.web_service, odoo.web.port),
            ],
            controller=inputs.compute.ingress_controller,
        ),
        opts=inputs.opts,
    )


@dataclass(frozen=True)
class OdooIssuer:
    """What a Job that issues an Odoo API key works with: Odoo's config, image and database path."""

    inputs: AppInputs
    owner: SecretRef
    pgbouncer: PgBouncer
    odoo: Odoo


@dataclass(frozen=True)
class LoadTestPeers:
    """The load test's pods in Odoo's namespace: its key's issuer (PgBouncer admits it) and the
    seeding Jobs (Odoo admits them)."""

    issuer: PodPeer
    seeder: PodPeer


#: The seeder's key issuer (and revoker): its Jobs are named after it.
SEEDER_ISSUER = "loadtest-seeder-key"
#: The load-test seeder's Odoo user: it creates portal users and products, and archives them.
#: Access Rights (erp_manager) is what creating users takes, and close to an administrator: the
#: user lives for one run (its key two days at most, revoked and the user archived at cleanup).
SEEDER_GROUPS = (
    "base.group_user",
    "base.group_partner_manager",
    "base.group_erp_manager",
    "sales_team.group_sale_manager",
)


def _load_test(ctx: StackContext, issuer: OdooIssuer, metrics: Monitoring) -> list[LoadTestPeers]:
    """The seed's data (under the seeder's own key), then the TestRun once it is in Odoo."""
    test, inputs = ctx.config.load_test, issuer.inputs
    seeder = ServiceUser("loadtest-seeder", SEEDER_GROUPS, SEEDER_ISSUER, schedule=None, run=test.run_id)
    # A key for one run: it lives two days; nothing to protect (its loss costs a rerun).
    key = _odoo_api_key(
        ctx, issuer, seeder, "The load-test seeder's Odoo API key.", credential_rotation_days=1, protect=False
    )
    odoo = issuer.odoo
    data = LoadTestData(
        f"{ctx.prefix}-load-test-data",
        ctx.build(
            LoadTestDataArgs,
            namespace=inputs.namespace,
            run_id=test.run_id,
            image=ctx.config.workloads.odoo.image,
            odoo_url=f"http://{odoo.web_service}.{NAMESPACE}.svc:{odoo.web.port}",
            database=inputs.data.database.database_name,
            odoo=odoo.web,
            key=key.secret,
            key_issued=[key.issued] if key.issued else [],
            seed_workers=test.seed_workers,
            pod_access=_pod_access(ctx, inputs),
            node_selector=STEADY_NODES,
        ),
        opts=inputs.opts,
    )
    LoadTest(
        f"{ctx.prefix}-load-test",
        args_from(
            test,
            LoadTestArgs,
            namespace=LOAD_TEST_NAMESPACE,
            base_url=test.base_url or f"https://{ctx.config.cdn.domain}",
            script=LOAD_TEST_SCRIPT.read_text(),
            remote_write_url=metrics.remote_write_url,
            monitoring_namespace=metrics.namespace,
            remote_write_port=metrics.prometheus_port,
            node_selector=STEADY_NODES,
            data=[data.seeded],
        ),
        opts=inputs.opts,
    )
    return [LoadTestPeers(key.peer, data.peer)]


def _bootstrap(ctx: StackContext, inputs: AppInputs) -> DatabaseBootstrap:
    """The least-privilege roles every application connects as; the master user stays here."""
    bootstrap, database = ctx.config.database.bootstrap, inputs.data.database
    return DatabaseBootstrap(
        f"{ctx.prefix}-db-bootstrap",
        ctx.args(
            bootstrap,
            DatabaseBootstrapArgs,
            namespace=inputs.namespace,
            roles=DatabaseRoles(
                database=database.database_name,
                master_user=database.master_username,
                reader_tables=tuple(bootstrap.reader_tables),
            ),
            primary_host=database.primary_endpoint,
            port=database.port,
            master_secret=SecretRef(database.secret_arn, database.key_arn),
            pod_access=_pod_access(ctx, inputs),
            data_cidrs=inputs.network.subnet_cidrs["isolated"],
            node_selector=STEADY_NODES,
            security_group_id=inputs.data.pod_groups[DB_BOOTSTRAP],
        ),
        opts=inputs.opts,
    )


def _credentials(ctx: StackContext, inputs: AppInputs, roles: DatabaseBootstrap) -> DatabaseCredentials:
    """The roles' secrets, and the rotation of every database credential once the bootstrap
    Job has made the roles."""
    database = inputs.data.database
    return DatabaseCredentials(
        f"{ctx.prefix}-db-credentials",
        ctx.args(
            ctx.config.database,
            DatabaseCredentialsArgs,
            host=database.primary_endpoint,
            port=database.port,
            database=database.database_name,
            master_secret_arn=database.secret_arn,
            key_arn=database.key_arn,
            roles={"owner": (roles.owner, True), "reader": (roles.reader, True), "auth_user": (roles.auth_user, False)},
            roles_ready=roles.ready,
            rotation=inputs.data.rotation,
        ),
        opts=inputs.opts,
    )


def _role_secret(inputs: AppInputs, credentials: DatabaseCredentials, key: str) -> SecretRef:
    return SecretRef(credentials.secret_arns[key], inputs.data.database.key_arn)


def _pod_access(ctx: StackContext, inputs: AppInputs) -> PodAccess:
    return PodAccess(inputs.compute.cluster.name, ctx.region, inputs.compute.secrets_store)


def _search_client(inputs: AppInputs, role: str) -> SearchClient:
    search = inputs.data.search
    return SearchClient(search.url, search.domain_arn, tuple(SEARCH_HTTP_ACTIONS[role]))


def _redis_secret(cache: RedisCache, client: RedisClient) -> SecretRef:
    return SecretRef(cache.secret_arns[client.name], cache.key_arn)


def _odoo(
    ctx: StackContext,
    inputs: AppInputs,
    roles: DatabaseBootstrap,
    credentials: DatabaseCredentials,
    pgbouncer: PgBouncer,
) -> Odoo:
    odoo = ctx.config.workloads.odoo
    network = inputs.network
    filestore = SharedFilesystem(
        f"{ctx.prefix}-filestore",
        ctx.build(
            SharedFilesystemArgs,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            namespace=inputs.namespace,
            claim_name="odoo-filestore",
            claim_size_gb=odoo.filestore_gb,
        ),
        opts=inputs.opts,
    )
    return Odoo(
        f"{ctx.prefix}-odoo",
        ctx.args(
            odoo,
            OdooArgs,
            namespace=inputs.namespace,
            settings=args_from(
                odoo,
                OdooSettings,
                db_name=inputs.data.database.database_name,
                db_host=pgbouncer.service_hosts["rw"],
                db_replica_host=pgbouncer.service_hosts["ro"],
                db_port=pgbouncer.port,
            ),
            session_db_host=pgbouncer.service_hosts["session"],
            db_secret=_role_secret(inputs, credentials, "owner"),
            redis_secret=_redis_secret(inputs.data.sessions, ODOO_SESSIONS),
            pod_access=_pod_access(ctx, inputs),
            bootstrap_revision=roles.revision,
            search=_search_client(inputs, "catalogue_writer"),
            filestore_claim=filestore.claim_name,
            hpa=hpa_spec(odoo.hpa, {}, ODOO),
            metrics_port=ctx.config.workloads.metrics_port,
            web_node_selector=ELASTIC_NODES,
            bus_node_selector=STEADY_NODES,
            security_group_id=inputs.data.pod_groups[ODOO],
            release=ReleasePlan(
                modules=tuple(odoo.modules),
                revision=odoo.release_revision,
                snapshot_image=odoo.snapshot_image,
                db_instance_id=inputs.data.database.instance_identifiers["primary"],
                db_instance_arn=inputs.data.database.primary_arn,
                pgbouncer=pgbouncer.peer,
                node_selector=STEADY_NODES,
                base_url=f"https://{ctx.config.cdn.odoo_host}.{ctx.config.cdn.domain}",
            ),
        ),
        opts=inputs.opts,
    )


def _gateway(
    ctx: StackContext,
    inputs: AppInputs,
    roles: DatabaseBootstrap,
    credentials: DatabaseCredentials,
    pgbouncer: PgBouncer,
    odoo: Odoo,
    odoo_key: OdooApiKey,
) -> ApiGateway:
    gateway, data = ctx.config.workloads.gateway, inputs.data
    return ApiGateway(
        f"{ctx.prefix}-api-gateway",
        ctx.args(
            gateway,
            ApiGatewayArgs,
            namespace=inputs.namespace,
            odoo_url=f"http://{odoo.web_service}.{NAMESPACE}.svc:{odoo.web.port}",
            # The gateway only reads: the replicas, as the read-only role.
            db_host=pgbouncer.service_hosts["ro"],
            db_name=data.database.database_name,
            db_secret=_role_secret(inputs, credentials, "reader"),
            odoo_key_secret=odoo_key.secret,
            cache_secret=_redis_secret(data.api_cache, GATEWAY_CACHE),
            rate_limit_secret=_redis_secret(data.sessions, GATEWAY_RATE_LIMIT),
            pod_access=_pod_access(ctx, inputs),
            bootstrap_revision=roles.revision,
            search=_search_client(inputs, "catalogue_reader"),
            hpa=hpa_spec(gateway.hpa, {"service": "api-gateway"}, GATEWAY),
            metrics_port=ctx.config.workloads.metrics_port,
            node_selector=ELASTIC_NODES,
            security_group_id=data.pod_groups[GATEWAY],
        ),
        opts=inputs.opts,
    )


def _odoo_api_key(
    ctx: StackContext, issuer: OdooIssuer, service: ServiceUser, purpose: str, **overrides: object
) -> OdooApiKey:
    """A service's Odoo API key, issued by a Job that runs Odoo's code as the owner role."""
    return OdooApiKey(
        f"{ctx.prefix}-{service.issuer}",
        ctx.build(
            OdooApiKeyArgs,
            service=service,
            purpose=purpose,
            namespace=issuer.inputs.namespace,
            image=ctx.config.workloads.odoo.image,
            odoo_config_map=issuer.odoo.config_map,
            db_secret=issuer.owner,
            key_arn=issuer.owner.key_arn,
            pod_access=_pod_access(ctx, issuer.inputs),
            pgbouncer=issuer.pgbouncer.peer,
            node_selector=STEADY_NODES,
            **overrides,
        ),
        opts=issuer.inputs.opts,
    )


def _pgbouncer(
    ctx: StackContext, inputs: AppInputs, roles: DatabaseBootstrap, credentials: DatabaseCredentials
) -> PgBouncer:
    pool, database = ctx.config.pgbouncer, inputs.data.database
    return PgBouncer(
        f"{ctx.prefix}-pgbouncer",
        ctx.args(
            pool,
            PgBouncerArgs,
            namespace=inputs.namespace,
            database=database.database_name,
            primary_host=database.primary_endpoint,
            replica_hosts=database.replica_endpoints,
            port=database.port,
            auth_users=pair(roles.auth_user),
            auth_secret=_role_secret(inputs, credentials, "auth_user"),
            pod_access=_pod_access(ctx, inputs),
            auth_query=AUTH_QUERY,
            bootstrap_revision=roles.revision,
            roles=pool_roles(pool),
            timeouts=args_from(pool, ServerTimeouts),
            budget=ctx.config.connection_budget(),
            node_selector=STEADY_NODES,
            security_group_id=inputs.data.pod_groups[PGBOUNCER],
        ),
        opts=inputs.opts,
    )


def scheduled_floors(config: PlatformConfig) -> dict[str, ScheduledFloor]:
    """workload -> its scheduled floor, for the workloads that have one."""
    hpas = {ODOO: config.workloads.odoo.hpa, GATEWAY: config.workloads.gateway.hpa}
    return {name: hpa.scheduled_floor for name, hpa in hpas.items() if hpa.scheduled_floor is not None}
