"""Data tier composition: RDS PostgreSQL, the ElastiCache groups and OpenSearch."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.data import redis as redis_component
from components.data.credential_rotation import CredentialRotation, CredentialRotationArgs
from components.data.postgres import PORT as POSTGRES_PORT
from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning
from components.data.redis import RedisCache, RedisCacheArgs
from components.data.redis_acl import GATEWAY_CACHE, GATEWAY_RATE_LIMIT, LAYOUTS, ODOO_SESSIONS, RedisClient
from components.data.redis_parameters import RedisTuning
from components.data.search import SearchDomain, SearchDomainArgs
from components.network.pod_security_groups import PodSecurityGroups, PodSecurityGroupsArgs
from components.network.vpc import Network

from .context import DataTier, StackContext
from .wiring import args_from

#: The workloads whose pods reach a data store, each wearing a security group of its own
#: (security groups for pods); the keys are what the applications pick their group by.
PGBOUNCER, DB_BOOTSTRAP, ODOO, GATEWAY = "pgbouncer", "db-bootstrap", "odoo", "api-gateway"
#: Who connects to RDS itself (everyone else goes through PgBouncer): the pools, and the
#: bootstrap and migration Jobs.
DATABASE_CLIENTS = (PGBOUNCER, DB_BOOTSTRAP)
#: Who queries OpenSearch: Odoo writes the catalogue, the gateway reads it.
SEARCH_CLIENTS = (ODOO, GATEWAY)
#: The workload each Redis ACL user belongs to: a group admits the workloads of its users.
REDIS_USERS = {ODOO_SESSIONS.name: ODOO, GATEWAY_CACHE.name: GATEWAY, GATEWAY_RATE_LIMIT.name: GATEWAY}


def data_tier(ctx: StackContext, network: Network) -> DataTier:
    rotation = credential_rotation(ctx, network)
    pods = pod_security_groups(ctx, network)
    return DataTier(
        database(ctx, network, _clients(pods, DATABASE_CLIENTS, rotation)),
        caches(ctx, network, pods, rotation),
        search(ctx, network, _clients(pods, SEARCH_CLIENTS)),
        rotation,
        pods.group_ids,
    )


def pod_security_groups(ctx: StackContext, network: Network) -> PodSecurityGroups:
    return PodSecurityGroups(
        f"{ctx.prefix}-pods",
        PodSecurityGroupsArgs(
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            node_security_group_id=network.data_client_security_group_id,
            workloads=[PGBOUNCER, DB_BOOTSTRAP, ODOO, GATEWAY],
            # The cluster is named like the prefix (stacks/compute.py).
            cluster_name=ctx.prefix,
        ),
        opts=ctx.on_aws(),
    )


def _clients(
    pods: PodSecurityGroups, workloads: Sequence[str], rotation: CredentialRotation | None = None
) -> dict[str, pulumi.Output[str]]:
    """Who may connect to a data store: the pod groups of `workloads`, and the rotation
    function where it rotates the store's credentials. Nodes are not among them."""
    rotating = {"rotation": rotation.security_group_id} if rotation else {}
    return {workload: pods.group_ids[workload] for workload in workloads} | rotating


def redis_workloads(clients: Sequence[RedisClient]) -> list[str]:
    """The workloads a Redis group admits: those of its ACL users, each once."""
    return sorted({REDIS_USERS[client.name] for client in clients})


def credential_rotation(ctx: StackContext, network: Network) -> CredentialRotation:
    """The function that rotates the database's and the caches' credentials."""
    return CredentialRotation(
        f"{ctx.prefix}-credential-rotation",
        ctx.build(
            CredentialRotationArgs,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            data_cidrs=network.subnet_cidrs["isolated"],
            data_ports=[POSTGRES_PORT, redis_component.PORT],
            log_retention_days=ctx.config.cluster.log_retention_days,
        ),
        opts=ctx.on_aws(),
    )


def database(ctx: StackContext, network: Network, clients: dict[str, pulumi.Output[str]]) -> PostgresDatabase:
    db = ctx.config.database
    return PostgresDatabase(
        f"{ctx.prefix}-db",
        ctx.args(
            db,
            PostgresDatabaseArgs,
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups=clients,
            tuning=args_from(db, PostgresTuning),
        ),
        opts=ctx.on_aws(),
    )


def caches(
    ctx: StackContext, network: Network, pods: PodSecurityGroups, rotation: CredentialRotation
) -> dict[str, RedisCache]:
    """One group per role of the layout, each with its clients' users: sessions in their own
    noeviction group (and node type)."""
    cache = ctx.config.cache
    return {
        role: RedisCache(
            f"{ctx.prefix}-redis-{role}",
            ctx.args(
                cache,
                RedisCacheArgs,
                vpc_id=network.vpc_id,
                subnet_group_name=network.cache_subnet_group_name,
                client_security_groups=_clients(pods, redis_workloads(clients), rotation),
                node_type=(cache.sessions_node_type or cache.node_type) if role == "sessions" else cache.node_type,
                tuning=args_from(cache, RedisTuning, role=role, cluster_mode=cache.shards > 1),
                secret_recovery_window_days=ctx.config.database.secret_recovery_window_days,
                clients=clients,
                user_id_prefix=ctx.prefix,
                rotation=rotation,
            ),
            opts=ctx.on_aws(),
        )
        for role, clients in LAYOUTS[cache.layout].items()
    }


def search(ctx: StackContext, network: Network, clients: dict[str, pulumi.Output[str]]) -> SearchDomain:
    """The OpenSearch domain, in the isolated subnets of the first `zoneCount` zones."""
    return SearchDomain(
        f"{ctx.prefix}-search",
        ctx.args(
            ctx.config.search,
            SearchDomainArgs,
            domain_name=f"{ctx.prefix}-search",
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_groups=clients,
        ),
        opts=ctx.on_aws(),
    )
