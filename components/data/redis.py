"""ElastiCache (Redis OSS or Valkey) replication group for one role: sessions, API cache, or both.

Sessions must not be evicted to make room for API cache entries. Production runs two of these
(`layout: split`): a "sessions" group with noeviction that also holds the rate-limit windows,
and a "cache" group with allkeys-lru; their memory pressure cannot touch each other. Smaller
stacks may share one group with volatile-ttl (`layout: shared`), which evicts the short-TTL
cache entries long before the day-long sessions. See `redis_parameters.EVICTION_POLICIES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.kms import KeyAccess, component_key
from components.aws.secrets import stored_secret
from components.aws.security_group import port_from_groups
from components.data.connection_urls import redis_url
from components.data.final_snapshot import final_snapshot_identifier
from components.data.redis_parameters import RedisTuning, parameter_group_family, redis_parameters
from components.outputs import secret_output

PORT = 6379
#: ElastiCache AUTH tokens: 16-128 printable characters; of the specials only these.
AUTH_TOKEN_SPECIALS = "!&#$^<>-"


@dataclass(frozen=True)
class RedisCacheArgs:
    #: The network's VPC and isolated-tier subnet group.
    vpc_id: pulumi.Input[str]
    #: The isolated tier's cache subnet group.
    subnet_group_name: pulumi.Input[str]
    #: label -> security group id allowed to reach port 6379.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    #: redis or valkey, and its major.minor.
    engine: str
    #: The engine's major.minor.
    engine_version: str
    #: Node type of every node of the group.
    node_type: str
    #: Role (sessions, cache, shared) and the parameters it renders.
    tuning: RedisTuning
    #: 1 = cluster mode disabled; more = that many shards, cluster mode enabled.
    shards: int
    #: Replicas per node group; failover and Multi-AZ follow from at least one.
    replicas_per_shard: int
    #: The group's snapshot retention limit, days.
    snapshot_retention_days: int
    #: Daily snapshot window and weekly maintenance window (UTC).
    snapshot_window: str
    #: Weekly maintenance window (UTC).
    maintenance_window: str
    #: Retention of the slow-log and engine-log groups.
    log_retention_days: int
    #: Take a final snapshot when the group is deleted.
    final_snapshot: bool
    #: Days a deleted AUTH secret stays recoverable (0: deleted at once).
    secret_recovery_window_days: int
    #: Bump to rotate the AUTH token, and how ElastiCache applies a new one (ROTATE | SET).
    auth_token_version: str
    #: How ElastiCache applies a new token: ROTATE keeps the old one valid, SET drops it.
    auth_token_update_strategy: str
    #: Pulumi `protect` on the group, key and secret.
    protect: bool
    #: Who administers the key (the deploy role), in which account.
    key_access: KeyAccess


#: What the engine logs to CloudWatch Logs, a group each.
LOG_TYPES = ("slow-log", "engine-log")


class RedisCache(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:cache:RedisCache"
    #: Member clusters (one per node): CloudWatch's `CacheClusterId` dimension.
    member_clusters: pulumi.Output[list[str]]
    eviction_policy: str

    def __init__(self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        cluster_mode = args.shards > 1
        # Kept on destroy: the final snapshot stays restorable.
        key = component_key(
            f"{name}-key",
            "ElastiCache data at rest, snapshots, AUTH secret and logs",
            self,
            args.protect,
            args.key_access,
            log_groups=[f"{name}-{log_type}-*" for log_type in LOG_TYPES],
            retain_on_delete=True,
        )
        group = port_from_groups(
            f"{name}-sg", args.vpc_id, PORT, args.client_security_groups, f"{args.tuning.role} Redis clients", self
        )
        token = random.RandomPassword(
            f"{name}-auth-token",
            length=64,
            special=True,
            override_special=AUTH_TOKEN_SPECIALS,
            keepers={"version": args.auth_token_version},
            opts=pulumi.ResourceOptions(parent=self),
        )
        auth_token = secret_output(token.result)
        replication_group = self._replication_group(name, args, key.arn, group.id, auth_token)
        endpoint = (
            replication_group.configuration_endpoint_address
            if cluster_mode
            else replication_group.primary_endpoint_address
        )
        url: pulumi.Output[str] = secret_output(
            pulumi.Output.all(auth_token, endpoint).apply(lambda parts: redis_url(parts[0], parts[1], PORT))
        )
        secret = stored_secret(
            f"{name}-auth",
            f"AUTH token of the {args.tuning.role} Redis",
            key.arn,
            args.secret_recovery_window_days,
            {"host": endpoint, "port": PORT, "authToken": auth_token, "url": url},
            self,
            args.protect,
        )

        self.primary_endpoint = endpoint
        self.reader_endpoint = replication_group.reader_endpoint_address
        self.port = PORT
        self.auth_token = auth_token
        self.url = url
        self.secret_arn = secret.arn
        self.security_group_id = group.id
        self.member_clusters = replication_group.member_clusters
        self.eviction_policy = redis_parameters(args.tuning)["maxmemory-policy"]
        self.register_outputs(
            {
                "memberClusters": self.member_clusters,
                "primaryEndpoint": self.primary_endpoint,
                "readerEndpoint": self.reader_endpoint,
                "port": self.port,
                "authToken": self.auth_token,
                "url": self.url,
                "secretArn": self.secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )

    def _replication_group(
        self,
        name: str,
        args: RedisCacheArgs,
        key_arn: pulumi.Input[str],
        security_group_id: pulumi.Input[str],
        auth_token: pulumi.Input[str],
    ) -> aws.elasticache.ReplicationGroup:
        """Encrypted at rest and in transit, AUTH required, failover and Multi-AZ with a
        replica, slow and engine logs to CloudWatch."""
        failover = args.replicas_per_shard >= 1
        logs = self._log_groups(name, args, key_arn)
        return aws.elasticache.ReplicationGroup(
            name,
            description=f"Smart Dairy {args.tuning.role}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=PORT,
            parameter_group_name=self._parameter_group(name, args).name,
            subnet_group_name=args.subnet_group_name,
            security_group_ids=[security_group_id],
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            at_rest_encryption_enabled=True,
            kms_key_id=key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=auth_token,
            # Rotation (cache.authTokenVersion): ROTATE keeps the old token valid beside the new
            # one while the apps roll (their pods restart on the Secret's checksum), then an `up`
            # with SET drops the old token. Its trap (terraform-provider-aws#33439: passwordless
            # access while moving a cluster *from no token*) cannot arise: the group is
            # created with a token.
            auth_token_update_strategy=args.auth_token_update_strategy,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            final_snapshot_identifier=final_snapshot_identifier(name, self) if args.final_snapshot else None,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=logs[log_type].name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log_type,
                )
                for log_type in LOG_TYPES
            ],
            **_sizing(args),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

    def _parameter_group(self, name: str, args: RedisCacheArgs) -> aws.elasticache.ParameterGroup:
        parameters = redis_parameters(args.tuning)
        return aws.elasticache.ParameterGroup(
            f"{name}-params",
            family=parameter_group_family(args.engine, args.engine_version),
            description=f"Smart Dairy {args.tuning.role}: {parameters['maxmemory-policy']}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(name=param, value=value)
                for param, value in parameters.items()
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _log_groups(
        self, name: str, args: RedisCacheArgs, key_arn: pulumi.Input[str]
    ) -> dict[str, aws.cloudwatch.LogGroup]:
        return {
            log_type: aws.cloudwatch.LogGroup(
                f"{name}-{log_type}",
                retention_in_days=args.log_retention_days,
                kms_key_id=key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for log_type in LOG_TYPES
        }


def _sizing(args: RedisCacheArgs) -> dict:
    """Shards and replicas in cluster mode; otherwise one primary and its replicas."""
    if args.shards > 1:
        return {
            "num_node_groups": args.shards,
            "replicas_per_node_group": args.replicas_per_shard,
            "cluster_mode": "enabled",
        }
    return {"num_cache_clusters": args.replicas_per_shard + 1, "cluster_mode": "disabled"}
