"""Data tier composition: RDS PostgreSQL, the ElastiCache groups and OpenSearch."""

from __future__ import annotations

from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning
from components.data.redis import RedisCache, RedisCacheArgs
from components.data.redis_parameters import RedisTuning
from components.data.search import SearchDomain, SearchDomainArgs
from components.network.vpc import Network

from .context import DataTier, StackContext
from .wiring import args_from


def data_tier(ctx: StackContext, network: Network) -> DataTier:
    return DataTier(database(ctx, network), caches(ctx, network), search(ctx, network))


def _clients(network: Network) -> dict:
    """Who may connect to a data store: the network's data-clients group (nodes and pods)."""
    return {"data-clients": network.data_client_security_group_id}


def database(ctx: StackContext, network: Network) -> PostgresDatabase:
    db = ctx.config.database
    return PostgresDatabase(
        f"{ctx.prefix}-db",
        ctx.args(
            db,
            PostgresDatabaseArgs,
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups=_clients(network),
            tuning=args_from(db, PostgresTuning),
        ),
        opts=ctx.on_aws(),
    )


def caches(ctx: StackContext, network: Network) -> dict[str, RedisCache]:
    """One group per role: `split` gives sessions their own noeviction group (and node type)."""
    cache = ctx.config.cache
    roles = ("sessions", "cache") if cache.layout == "split" else ("shared",)
    return {
        role: RedisCache(
            f"{ctx.prefix}-redis-{role}",
            ctx.args(
                cache,
                RedisCacheArgs,
                vpc_id=network.vpc_id,
                subnet_group_name=network.cache_subnet_group_name,
                client_security_groups=_clients(network),
                node_type=(cache.sessions_node_type or cache.node_type) if role == "sessions" else cache.node_type,
                tuning=args_from(cache, RedisTuning, role=role, cluster_mode=cache.shards > 1),
                secret_recovery_window_days=ctx.config.database.secret_recovery_window_days,
            ),
            opts=ctx.on_aws(),
        )
        for role in roles
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
            secret_recovery_window_days=ctx.config.database.secret_recovery_window_days,
        ),
        opts=ctx.on_aws(),
    )
