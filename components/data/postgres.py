"""RDS PostgreSQL: an encrypted Multi-AZ primary, read replicas spread over the AZs and the
tuned parameter group the seed's database audit needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import service_trust_policy
from components.aws.kms import KeyAccess, component_key
from components.aws.passwords import master_password as master_password_of
from components.aws.secrets import stored_secret
from components.aws.security_group import port_from_groups
from components.data.final_snapshot import final_snapshot_identifier
from components.data.postgres_parameters import (
    PostgresTuning,
    apply_method,
    parameter_group_family,
    postgres_parameters,
    preload_problems,
)
from components.data.rds_trust import CA_IDENTIFIER
from components.data.rotation.secret_values import master_value

PORT = 5432
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
#: RDS refuses '/', '@', '"' and spaces in master passwords.
PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


@dataclass(frozen=True)
class PostgresDatabaseArgs:
    #: The network's VPC, isolated-tier subnet group and zones (replicas spread over them).
    vpc_id: pulumi.Input[str]
    #: The isolated tier's DB subnet group.
    subnet_group_name: pulumi.Input[str]
    #: The zones the replicas spread over.
    availability_zones: Sequence[str]
    #: label -> security group id allowed to reach port 5432.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    #: A major ("16") lets RDS own the minor; a "16.8" pin only with auto_minor_version_upgrade off.
    engine_version: str
    #: RDS applies minor versions in the maintenance window.
    auto_minor_version_upgrade: bool
    #: Primary class; replicas use replica_instance_class, or this one when that is None.
    instance_class: str
    #: The replicas' class; None: the primary's.
    replica_instance_class: str | None
    #: Read replicas, spread over the zones.
    replicas: int
    #: A standby in another zone for the primary.
    multi_az: bool
    #: The parameter group's settings (max_connections, slow-query logging, memory).
    tuning: PostgresTuning
    #: Initial gp3 size and the storage autoscaling ceiling.
    allocated_storage_gb: int
    #: The storage autoscaling ceiling, GB.
    max_allocated_storage_gb: int
    #: gp3 IOPS / throughput; RDS accepts them only from 400 GB up (None = gp3 baseline).
    iops: int | None
    #: gp3 throughput, MiB/s (None: the baseline).
    storage_throughput_mbps: int | None
    #: Automated backups: days kept and the daily window (UTC).
    backup_retention_days: int
    #: Daily backup window (UTC).
    backup_window: str
    #: Weekly window for minor upgrades and patches (UTC).
    maintenance_window: str
    #: RDS deletion protection on the primary.
    deletion_protection: bool
    #: Take a final snapshot when the primary is deleted.
    final_snapshot: bool
    #: Delete the automated backups with the primary (false keeps them for their retention).
    delete_automated_backups: bool
    #: Days Performance Insights keeps its data.
    performance_insights_retention_days: int
    #: Enhanced Monitoring interval of every instance, seconds.
    monitoring_interval_s: int
    #: Who administers the data key (the deploy role), in which account.
    key_access: KeyAccess
    #: Days a deleted master secret stays recoverable (0: deleted at once).
    secret_recovery_window_days: int
    #: Pulumi `protect` on the instances, key and secret.
    protect: bool
    #: The database Odoo owns, and the master user (not `postgres`: FSBP RDS.25).
    database_name: str = "odoo"
    #: The master user (not `postgres`: FSBP RDS.25).
    master_username: str = "sdadmin"


class PostgresDatabase(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:database:PostgresDatabase"
    #: `primary`, `replica-1` ... -> DBInstanceIdentifier (CloudWatch's dimension).
    instance_identifiers: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        parameters = postgres_parameters(args.tuning)
        problems = preload_problems(parameters)
        if problems:
            raise ValueError(f"{name}: {'; '.join(problems)}")
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Kept on destroy: the final snapshot and the automated backups stay restorable.
        key = component_key(
            f"{name}-key",
            "RDS storage, Performance Insights and secret",
            self,
            args.protect,
            args.key_access,
            retain_on_delete=True,
        )
        group = port_from_groups(
            f"{name}-sg", args.vpc_id, PORT, args.client_security_groups, "PostgreSQL from data-tier clients", self
        )
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=parameter_group_family(args.engine_version),
            description="Smart Dairy PostgreSQL tuning: pg_stat_statements, slow-query and lock logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=param, value=value, apply_method=apply_method(param))
                for param, value in parameters.items()
            ],
            opts=child,
        )
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring",
            assume_role_policy=service_trust_policy("monitoring.rds.amazonaws.com", args.key_access.account_id),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring", role=monitoring_role.name, policy_arn=ENHANCED_MONITORING_POLICY, opts=child
        )
        # A generated first password rather than RDS-managed credentials: RDS refuses managed
        # master passwords on a source of read replicas (RDS User Guide, "Limitations for Secrets
        # Manager integration"). It lives until the first rotation (DatabaseCredentials).
        master_password = master_password_of(name, PASSWORD_SPECIALS, self)

        primary, replicas = self._instances(
            name, args, key.arn, group.id, parameter_group.name, monitoring_role.arn, master_password
        )
        secret = self._master_secret(name, args, key.arn, primary.address, master_password)

        self.primary_endpoint = primary.address
        self.replica_endpoints = [r.address for r in replicas]
        self.port = PORT
        self.max_connections = args.tuning.max_connections
        self.secret_arn = secret.arn
        self.security_group_id = group.id
        self.master_username = args.master_username
        self.database_name = args.database_name
        self.key_arn = key.arn
        #: The primary's ARN (the Odoo release Job snapshots it).
        self.primary_arn = primary.arn
        self.instance_identifiers = {
            "primary": primary.identifier,
            **{f"replica-{index + 1}": replica.identifier for index, replica in enumerate(replicas)},
        }
        self.register_outputs(
            {
                "instanceIdentifiers": self.instance_identifiers,
                "primaryEndpoint": self.primary_endpoint,
                "replicaEndpoints": self.replica_endpoints,
                "port": self.port,
                "maxConnections": self.max_connections,
                "secretArn": self.secret_arn,
                "securityGroupId": self.security_group_id,
                "masterUsername": self.master_username,
            }
        )

    def _instances(
        self,
        name: str,
        args: PostgresDatabaseArgs,
        key_arn: pulumi.Output[str],
        security_group_id: pulumi.Output[str],
        parameter_group_name: pulumi.Output[str],
        monitoring_role_arn: pulumi.Output[str],
        master_password: pulumi.Output[str],
    ) -> tuple[aws.rds.Instance, list[aws.rds.Instance]]:
        """The primary and its read replicas, sharing encryption, monitoring and logging."""
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        common = dict(
            instance_class=args.instance_class,
            parameter_group_name=parameter_group_name,
            vpc_security_group_ids=[security_group_id],
            kms_key_id=key_arn,
            storage_encrypted=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval_s,
            monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=args.auto_minor_version_upgrade,
            publicly_accessible=False,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            ca_cert_identifier=CA_IDENTIFIER,
            apply_immediately=False,
        )
        primary = aws.rds.Instance(
            f"{name}-primary",
            engine="postgres",
            engine_version=args.engine_version,
            db_name=args.database_name,
            username=args.master_username,
            password=master_password,
            db_subnet_group_name=args.subnet_group_name,
            multi_az=args.multi_az,
            storage_type="gp3",
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            iops=args.iops,
            storage_throughput=args.storage_throughput_mbps,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            skip_final_snapshot=not args.final_snapshot,
            delete_automated_backups=args.delete_automated_backups,
            final_snapshot_identifier=final_snapshot_identifier(f"{name}-primary", self)
            if args.final_snapshot
            else None,
            **common,
            # The rotation owns the password after the first: the program's is never applied again.
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(ignore_changes=["password"])),
        )
        replicas = []
        for index in range(args.replicas):
            replica_common = {**common, "instance_class": args.replica_instance_class or args.instance_class}
            replicas.append(
                aws.rds.Instance(
                    f"{name}-replica-{index + 1}",
                    replicate_source_db=primary.identifier,
                    # Spread over the zones: an AZ outage takes at most one replica with it.
                    availability_zone=args.availability_zones[index % len(args.availability_zones)],
                    multi_az=False,
                    backup_retention_period=0,
                    skip_final_snapshot=True,
                    **replica_common,
                    opts=stateful,
                )
            )

        return primary, replicas

    def _master_secret(
        self,
        name: str,
        args: PostgresDatabaseArgs,
        key_arn: pulumi.Output[str],
        host: pulumi.Output[str],
        master_password: pulumi.Output[str],
    ) -> aws.secretsmanager.Secret:
        """The master credentials in Secrets Manager, for the bootstrap Job and administrators
        (never the apps' pods), rotated by DatabaseCredentials from the first `up` on."""
        value = pulumi.Output.all(host, master_password).apply(
            lambda v: master_value(v[0], PORT, args.database_name, args.master_username, v[1])
        )
        return stored_secret(
            f"{name}-master",
            "PostgreSQL master credentials (the bootstrap Job and administrators only)",
            key_arn,
            args.secret_recovery_window_days,
            {key: value[key] for key in ("engine", "scheme", "host", "port", "dbname", "username", "password")},
            self,
            args.protect,
        )
