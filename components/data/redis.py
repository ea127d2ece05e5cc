"""ElastiCache (Redis OSS or Valkey) replication group for one role: sessions or API cache.

Sessions must not be evicted to make room for API cache entries. Every stack runs two of these
(`layout: split`): a "sessions" group with noeviction that also holds the rate-limit windows,
and a "cache" group with allkeys-lru; their memory pressure cannot touch each other, and the
gateway's cache client, which lists key names, never shares a group with the session ids.

Clients log in as RBAC users, one per client, each limited to its keys and commands
(components/data/redis_acl.py); nobody holds the default user or an AUTH token. Each user's
password lives in Secrets Manager and is rotated by the data tier's rotation function, which
keeps the previous password valid beside the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.iam_documents import statement
from components.aws.kms import KeyAccess, component_key
from components.aws.secrets import first_version
from components.aws.security_group import port_from_groups
from components.data.credential_rotation import CredentialRotation
from components.data.final_snapshot import final_snapshot_identifier
from components.data.redis_acl import RedisClient, access_string
from components.data.redis_parameters import RedisTuning, parameter_group_family, redis_parameters
from components.data.rotation.secret_values import redis_user_value
from components.outputs import secret_output

PORT = 6379


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
    #: Days a deleted user secret stays recoverable (0: deleted at once).
    secret_recovery_window_days: int
    #: The group's clients: an RBAC user each, with its access string and a rotated secret.
    clients: Sequence[RedisClient]
    #: Prefix of the users' ids (ElastiCache user ids are account-wide: the stack's prefix).
    user_id_prefix: str
    #: The data tier's rotation function.
    rotation: CredentialRotation
    #: Days between rotations of the users' passwords.
    credential_rotation_days: int
    #: Pulumi `protect` on the group, key and secrets.
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
            "ElastiCache data at rest, snapshots, user secrets and logs",
            self,
            args.protect,
            args.key_access,
            log_groups=[f"{name}-{log_type}-*" for log_type in LOG_TYPES],
            retain_on_delete=True,
        )
        group = port_from_groups(
            f"{name}-sg", args.vpc_id, PORT, args.client_security_groups, f"{args.tuning.role} Redis clients", self
        )
        users = {client.name: self._user(name, client, args) for client in args.clients}
        user_group = self._user_group(name, args, list(users.values()))
        replication_group = self._replication_group(name, args, key.arn, group.id, user_group)
        endpoint = (
            replication_group.configuration_endpoint_address
            if cluster_mode
            else replication_group.primary_endpoint_address
        )
        secrets = {
            client: self._user_secret(name, client, user, endpoint, key.arn, args) for client, user in users.items()
        }
        args.rotation.rotate(
            f"{name}-users",
            [secret.arn for secret in secrets.values()],
            key.arn,
            args.credential_rotation_days,
            self,
            after=[replication_group],
            more=[statement(["elasticache:ModifyUser", "elasticache:DescribeUsers"], [u.arn for u in users.values()])],
        )

        self.primary_endpoint = endpoint
        self.reader_endpoint = replication_group.reader_endpoint_address
        self.port = PORT
        #: Client (ACL user) name -> its secret's ARN, and the key the secrets use.
        self.secret_arns = {client: secret.arn for client, secret in secrets.items()}
        self.key_arn = key.arn
        self.security_group_id = group.id
        self.member_clusters = replication_group.member_clusters
        self.eviction_policy = redis_parameters(args.tuning)["maxmemory-policy"]
        self.register_outputs(
            {
                "memberClusters": self.member_clusters,
                "primaryEndpoint": self.primary_endpoint,
                "readerEndpoint": self.reader_endpoint,
                "port": self.port,
                "secretArns": self.secret_arns,
                "securityGroupId": self.security_group_id,
            }
        )

    def _user(self, name: str, client: RedisClient, args: RedisCacheArgs) -> aws.elasticache.User:
        """The client's RBAC user. ElastiCache needs a password to create a password user: the
        program's is dead after the first rotation, which replaces the user's passwords."""
        first = random.RandomPassword(
            f"{name}-{client.name}-first", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        return aws.elasticache.User(
            f"{name}-{client.name}",
            user_id=f"{args.user_id_prefix}-{client.name}",
            user_name=client.name,
            engine=args.engine,
            access_string=access_string(client),
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[secret_output(first.result)]
            ),
            # The rotation owns the passwords from the first rotation on.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["authenticationMode", "passwords"]),
        )

    def _user_group(
        self, name: str, args: RedisCacheArgs, users: list[aws.elasticache.User]
    ) -> aws.elasticache.UserGroup:
        """The group's users. A Redis OSS group must hold a user named `default`: ours is off,
        with no command and no key, so nobody can use it; Valkey groups need none."""
        members = list(users)
        if args.engine == "redis":
            members.append(
                aws.elasticache.User(
                    f"{name}-default",
                    user_id=f"{args.user_id_prefix}-{args.tuning.role}-default",
                    user_name="default",
                    engine="redis",
                    access_string="off -@all",
                    authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="no-password-required"),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=f"{args.user_id_prefix}-{args.tuning.role}",
            engine=args.engine,
            user_ids=[user.user_id for user in members],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _user_secret(
        self,
        name: str,
        client: str,
        user: aws.elasticache.User,
        endpoint: pulumi.Output[str],
        key_arn: pulumi.Output[str],
        args: RedisCacheArgs,
    ) -> aws.secretsmanager.Secret:
        """The user's secret; its first value says where and who, with no password."""
        secret = aws.secretsmanager.Secret(
            f"{name}-{client}-secret",
            description=f"ElastiCache user of the {args.tuning.role} group, rotated by the data tier's rotation",
            kms_key_id=key_arn,
            recovery_window_in_days=args.secret_recovery_window_days,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        value = pulumi.Output.all(user.user_id, user.user_name, endpoint).apply(
            lambda v: redis_user_value(v[0], v[1], v[2], PORT)
        )
        # No credential in it (where and who, no password): not a secret.
        text = pulumi.Output.unsecret(pulumi.Output.json_dumps(value))
        first_version(f"{name}-{client}-secret", secret.id, text, self)
        return secret

    def _replication_group(
        self,
        name: str,
        args: RedisCacheArgs,
        key_arn: pulumi.Input[str],
        security_group_id: pulumi.Input[str],
        user_group: aws.elasticache.UserGroup,
    ) -> aws.elasticache.ReplicationGroup:
        """Encrypted at rest and in transit, RBAC users only, failover and Multi-AZ with a
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
            # RBAC only: a user group and no AUTH token (the two exclude each other). DELETE is
            # how the provider moves a group created with a token to users (it accepts DELETE
            # without a token; terraform-provider-aws replication_group.go).
            user_group_ids=[user_group.user_group_id],
            auth_token_update_strategy="DELETE",
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
