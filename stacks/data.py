"""Data tier composition: RDS PostgreSQL and the ElastiCache groups."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.data.postgres import PostgresDatabase, PostgresDatabaseArgs
from components.data.redis import RedisCache, RedisCacheArgs
from components.data.redis_parameters import RedisTuning
from components.network.vpc import Network

from .schema import PlatformConfig


def database(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> PostgresDatabase:
    db = config.database
    return PostgresDatabase(
        f"{prefix}-db",
        PostgresDatabaseArgs(
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            engine_version=db.engine_version,
            auto_minor_version_upgrade=db.auto_minor_version_upgrade,
            instance_class=db.instance_class,
            tuning=db.tuning(),
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            iops=db.iops,
            storage_throughput_mbps=db.storage_throughput_mbps,
            replica_count=db.replicas,
            replica_instance_class=db.replica_instance_class,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            backup_window=db.backup_window,
            maintenance_window=db.maintenance_window,
            deletion_protection=db.deletion_protection,
            final_snapshot=db.final_snapshot,
            performance_insights_retention_days=db.performance_insights_retention_days,
            monitoring_interval_s=db.monitoring_interval_s,
            secret_recovery_window_days=db.secret_recovery_window_days,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def caches(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> dict[str, RedisCache]:
    """One group per role: `split` gives sessions their own noeviction group."""
    cache = config.cache
    roles = ("sessions", "cache") if cache.layout == "split" else ("shared",)
    return {
        role: RedisCache(
            f"{prefix}-redis-{role}",
            RedisCacheArgs(
                vpc_id=network.vpc_id,
                subnet_group_name=network.cache_subnet_group_name,
                client_security_groups={"data-clients": network.data_client_security_group_id},
                engine=cache.engine,
                engine_version=cache.engine_version,
                node_type=(cache.sessions_node_type or cache.node_type) if role == "sessions" else cache.node_type,
                tuning=RedisTuning(
                    role=role,
                    idle_client_timeout_s=cache.idle_client_timeout_s,
                    slowlog_threshold_us=cache.slowlog_threshold_us,
                    cluster_mode=cache.shards > 1,
                ),
                shards=cache.shards,
                replicas_per_shard=cache.replicas_per_shard,
                snapshot_retention_days=cache.snapshot_retention_days,
                snapshot_window=cache.snapshot_window,
                maintenance_window=cache.maintenance_window,
                log_retention_days=cache.log_retention_days,
                final_snapshot=cache.final_snapshot,
                secret_recovery_window_days=config.database.secret_recovery_window_days,
                protect=config.protect_stateful_resources,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for role in roles
    }
