"""Data tier composition: RDS PostgreSQL, the ElastiCache groups and OpenSearch."""

from __future__ import annotations

from components.data import redis as redis_component
from components.data.credential_rotation import CredentialRotation, CredentialRotationArgs
from components.data.postgres import PORT as POSTGRES_PORT
from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning
from components.data.redis import RedisCache, RedisCacheArgs
from components.data.redis_acl import LAYOUTS
from components.data.redis_parameters import RedisTuning
from components.data.search import SearchDomain, SearchDomainArgs
from components.network.vpc import Network

from .context import DataTier, StackContext
from .wiring import args_from


def data_tier(ctx: StackContext, network: Network) -> DataTier:
    rotation = credential_rotation(ctx, network)
    return DataTier(database(ctx, network, rotation), caches(ctx, network, rotation), search(ctx, network), rotation)


def _clients(network: Network, rotation: CredentialRotation | None = None) -> dict:
    """Who may connect to a data store: the network's data-clients group (nodes and pods), and
    the rotation function where it rotates the store's credentials."""
    rotating = {"rotation": rotation.security_group_id} if rotation else {}
    return {"data-clients": network.data_client_security_group_id, **rotating}


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


def database(ctx: StackContext, network: Network, rotation: CredentialRotation) -> PostgresDatabase:
    db = ctx.config.database
    return PostgresDatabase(
        f"{ctx.prefix}-db",
        ctx.args(
            db,
            PostgresDatabaseArgs,
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups=_clients(network, rotation),
            tuning=args_from(db, PostgresTuning),
        ),
        opts=ctx.on_aws(),
    )


def caches(ctx: StackContext, network: Network, rotation: CredentialRotation) -> dict[str, RedisCache]:
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
                client_security_groups=_clients(network, rotation),
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


def search(ctx: StackContext, network: Network) -> SearchDomain:
    """The OpenSearch domain, in the isolated subnets of the first `zoneCount` zones."""
    return SearchDomain(
        f"{ctx.prefix}-search",
        ctx.args(
            ctx.config.search,
            SearchDomainArgs,
            domain_name=f"{ctx.prefix}-search",
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_groups=_clients(network),
        ),
        opts=ctx.on_aws(),
    )
