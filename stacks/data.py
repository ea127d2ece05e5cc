"""Data tier composition: RDS PostgreSQL and the ElastiCache groups."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning
from components.data.redis import RedisCache, RedisCacheArgs
from components.data.redis_parameters import RedisTuning
from components.data.search import SearchDomain, SearchDomainArgs
from components.network.vpc import Network

from .schema import PlatformConfig
from .wiring import args_from


def database(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> PostgresDatabase:
    db = config.database
    return PostgresDatabase(
        f"{prefix}-db",
        args_from(
            db,
            PostgresDatabaseArgs,
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            tuning=args_from(db, PostgresTuning),
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def caches(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> dict[str, RedisCache]:
    """One group per role: `split` gives sessions their own noeviction group (and node type)."""
    cache = config.cache
    roles = ("sessions", "cache") if cache.layout == "split" else ("shared",)
    return {
        role: RedisCache(
            f"{prefix}-redis-{role}",
            args_from(
                cache,
                RedisCacheArgs,
                vpc_id=network.vpc_id,
                subnet_group_name=network.cache_subnet_group_name,
                client_security_groups={"data-clients": network.data_client_security_group_id},
                node_type=(cache.sessions_node_type or cache.node_type) if role == "sessions" else cache.node_type,
                tuning=args_from(cache, RedisTuning, role=role, cluster_mode=cache.shards > 1),
                secret_recovery_window_days=config.database.secret_recovery_window_days,
                protect=config.protect_stateful_resources,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for role in roles
    }


def search(
    prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider, account_id: pulumi.Input[str]
) -> SearchDomain:
    """The OpenSearch domain, in the isolated subnets of the first `zoneCount` zones."""
    return SearchDomain(
        f"{prefix}-search",
        args_from(
            config.search,
            SearchDomainArgs,
            domain_name=f"{prefix}-search",
            account_id=account_id,
            region=config.region,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            secret_recovery_window_days=config.database.secret_recovery_window_days,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
