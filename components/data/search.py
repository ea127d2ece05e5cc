"""Amazon OpenSearch Service domain for the catalogue search: product search must not land on
PostgreSQL at 10,000 users.

Access is fine-grained access control with an internal master user whose password is
generated. With the internal user database, HTTP basic-auth requests reach the domain unsigned,
so the resource policy has to let them in (`Principal: *` on this domain only): the gates are
the VPC (isolated subnets, no public endpoint), the security group (443 from the data clients
only) and FGAC's authentication, which is AWS's documented setup for FGAC domains.

Log groups receive the slow, error and audit logs through a CloudWatch Logs resource policy for
`es.amazonaws.com`, made before the domain: without it the domain's creation fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.passwords import master_password as master_password_of
from components.aws.secrets import stored_secret
from components.aws.security_group import port_from_groups
from components.data.connection_urls import https_url
from components.outputs import secret_output

PORT = 443
MASTER_USER = "search-admin"
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
LOG_TYPES = ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS")
#: FGAC master passwords: 8-128 characters with upper, lower, digit and special. Of the
#: specials, only those that need no quoting in JSON, shells or URLs' userinfo once encoded.
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"


@dataclass(frozen=True)
class SearchDomainArgs:
    #: Domain name: 3-28 lowercase letters, digits and hyphens, starting with a letter.
    domain_name: str
    #: Account and region: the access policy names this domain's ARN before it exists.
    account_id: pulumi.Input[str]
    #: The domain's region.
    region: str
    #: The network's VPC and one isolated subnet per zone the domain spans.
    vpc_id: pulumi.Input[str]
    #: The isolated subnets, one per zone the domain spans.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: label -> security group id allowed to reach 443.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    #: OpenSearch_2.x.
    engine_version: str
    #: Data nodes: type, count, and the zones they spread over (1: no zone awareness).
    instance_type: str
    #: Data nodes.
    instance_count: int
    #: Zones the data nodes spread over (1: no zone awareness).
    zone_count: int
    #: Dedicated cluster managers (0, 3 or 5) and their type.
    dedicated_master_count: int
    #: Their instance type.
    dedicated_master_type: str | None
    #: UltraWarm nodes (0: off) and their type.
    warm_count: int
    #: Their instance type.
    warm_type: str | None
    #: gp3 volume per data node: size (GiB), IOPS, throughput (MiB/s).
    volume_gb: int
    #: gp3 IOPS per data node.
    iops: int
    #: The data nodes' gp3 throughput, MiB/s.
    throughput_mbps: int
    #: Auto-Tune, inside the off-peak window that starts at this hour (UTC).
    auto_tune: bool
    #: Start of the daily off-peak window (UTC) for updates and Auto-Tune.
    off_peak_start_hour: int
    #: Retention of the domain's four log groups.
    log_retention_days: int
    #: Create the account's OpenSearch service-linked role (a VPC domain needs it, once).
    create_service_linked_role: bool
    #: Days a deleted master secret stays recoverable.
    secret_recovery_window_days: int
    #: Pulumi `protect` on the domain, key, secret and log groups (the audit log among them).
    protect: bool
    #: Who administers the key (the deploy role), in which account.
    key_access: KeyAccess


class SearchDomain(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:search:SearchDomain"

    def __init__(self, name: str, args: SearchDomainArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        key = component_key(
            f"{name}-key",
            "OpenSearch data at rest, master secret and logs",
            self,
            args.protect,
            args.key_access,
            log_groups=[f"{name}-{log_type.lower().replace('_', '-')}-*" for log_type in LOG_TYPES],
        )
        group = port_from_groups(
            f"{name}-sg", args.vpc_id, PORT, args.client_security_groups, "OpenSearch clients (HTTPS)", self
        )
        logs, log_access = self._log_groups(name, args, key.arn)
        master_password = master_password_of(name, PASSWORD_SPECIALS, self, min_special=2)
        prerequisites: list[pulumi.Resource] = [*logs.values(), log_access, *self._service_linked_role(name, args)]
        domain = aws.opensearch.Domain(
            name,
            domain_name=args.domain_name,
            engine_version=args.engine_version,
            cluster_config=self._cluster(args),
            ebs_options=aws.opensearch.DomainEbsOptionsArgs(
                ebs_enabled=True,
                volume_type="gp3",
                volume_size=args.volume_gb,
                iops=args.iops,
                throughput=args.throughput_mbps,
            ),
            vpc_options=aws.opensearch.DomainVpcOptionsArgs(
                subnet_ids=list(args.subnet_ids)[: args.zone_count], security_group_ids=[group.id]
            ),
            encrypt_at_rest=aws.opensearch.DomainEncryptAtRestArgs(enabled=True, kms_key_id=key.arn),
            node_to_node_encryption=aws.opensearch.DomainNodeToNodeEncryptionArgs(enabled=True),
            domain_endpoint_options=aws.opensearch.DomainDomainEndpointOptionsArgs(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            advanced_security_options=_fine_grained_access(master_password),
            access_policies=_access_policy(args),
            log_publishing_options=[
                aws.opensearch.DomainLogPublishingOptionArgs(
                    log_type=log_type, cloudwatch_log_group_arn=group_.arn, enabled=True
                )
                for log_type, group_ in logs.items()
            ],
            **_maintenance(args),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=prerequisites),
        )
        url = secret_output(
            pulumi.Output.all(master_password, domain.endpoint).apply(
                lambda parts: https_url(MASTER_USER, parts[0], parts[1], PORT)
            )
        )
        secret = stored_secret(
            f"{name}-master",
            "Master user of the OpenSearch domain (fine-grained access control)",
            key.arn,
            args.secret_recovery_window_days,
            {"username": MASTER_USER, "password": master_password, "endpoint": domain.endpoint, "url": url},
            self,
            args.protect,
        )
        self.endpoint = domain.endpoint
        self.url = url
        self.domain_name = args.domain_name
        self.secret_arn = secret.arn
        self.security_group_id = group.id
        self.port = PORT
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "url": self.url,
                "domainName": self.domain_name,
                "secretArn": self.secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )

    def _service_linked_role(self, name: str, args: SearchDomainArgs) -> list[pulumi.Resource]:
        """A VPC domain needs AWSServiceRoleForAmazonOpenSearchService, once per account."""
        if not args.create_service_linked_role:
            return []
        role = aws.iam.ServiceLinkedRole(
            f"{name}-service-role",
            aws_service_name="opensearchservice.amazonaws.com",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [role]

    @staticmethod
    def _cluster(args: SearchDomainArgs) -> aws.opensearch.DomainClusterConfigArgs:
        zoned = args.zone_count > 1
        return aws.opensearch.DomainClusterConfigArgs(
            instance_type=args.instance_type,
            instance_count=args.instance_count,
            zone_awareness_enabled=zoned,
            zone_awareness_config=(
                aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(availability_zone_count=args.zone_count)
                if zoned
                else None
            ),
            dedicated_master_enabled=args.dedicated_master_count > 0,
            dedicated_master_count=args.dedicated_master_count or None,
            dedicated_master_type=args.dedicated_master_type,
            warm_enabled=args.warm_count > 0,
            warm_count=args.warm_count or None,
            warm_type=args.warm_type,
        )

    def _log_groups(
        self, name: str, args: SearchDomainArgs, key_arn: pulumi.Input[str]
    ) -> tuple[dict[str, aws.cloudwatch.LogGroup], aws.cloudwatch.LogResourcePolicy]:
        """One group per log type, encrypted, protected like the domain (the audit log is an
        audit trail), and the resource policy that lets OpenSearch write to them."""
        child = pulumi.ResourceOptions(parent=self)
        groups = {
            log_type: aws.cloudwatch.LogGroup(
                f"{name}-{log_type.lower().replace('_', '-')}",
                retention_in_days=args.log_retention_days,
                kms_key_id=key_arn,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            for log_type in LOG_TYPES
        }
        access = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs",
            policy_name=f"{args.domain_name}-opensearch-logs",
            policy_document=policy_document(
                [
                    {
                        **statement(
                            ["logs:PutLogEvents", "logs:CreateLogStream"],
                            [pulumi.Output.concat(g.arn, ":*") for g in groups.values()],
                            conditions={"StringEquals": {"aws:SourceAccount": args.account_id}},
                        ),
                        "Principal": {"Service": "es.amazonaws.com"},
                    }
                ]
            ),
            opts=child,
        )
        return groups, access


def _fine_grained_access(master_password: pulumi.Input[str]) -> aws.opensearch.DomainAdvancedSecurityOptionsArgs:
    """Fine-grained access control with the internal user database: no anonymous access."""
    return aws.opensearch.DomainAdvancedSecurityOptionsArgs(
        enabled=True,
        anonymous_auth_enabled=False,
        internal_user_database_enabled=True,
        master_user_options=aws.opensearch.DomainAdvancedSecurityOptionsMasterUserOptionsArgs(
            master_user_name=MASTER_USER, master_user_password=master_password
        ),
    )


def _access_policy(args: SearchDomainArgs) -> pulumi.Output[str]:
    """HTTP to this domain's paths for any principal: the security group and fine-grained
    access control decide (the domain's ARN is named before it exists)."""
    domain_arn = pulumi.Output.concat("arn:aws:es:", args.region, ":", args.account_id, ":domain/", args.domain_name)
    return policy_document(
        [{**statement(["es:ESHttp*"], [pulumi.Output.concat(domain_arn, "/*")]), "Principal": {"AWS": "*"}}]
    )


def _maintenance(args: SearchDomainArgs) -> dict:
    """Auto-Tune and service software updates, both in the daily off-peak window."""
    return {
        "auto_tune_options": aws.opensearch.DomainAutoTuneOptionsArgs(
            desired_state="ENABLED" if args.auto_tune else "DISABLED",
            rollback_on_disable="NO_ROLLBACK",
            use_off_peak_window=True,
        ),
        "off_peak_window_options": aws.opensearch.DomainOffPeakWindowOptionsArgs(
            enabled=True,
            off_peak_window=aws.opensearch.DomainOffPeakWindowOptionsOffPeakWindowArgs(
                window_start_time=aws.opensearch.DomainOffPeakWindowOptionsOffPeakWindowWindowStartTimeArgs(
                    hours=args.off_peak_start_hour, minutes=0
                )
            ),
        ),
        "software_update_options": aws.opensearch.DomainSoftwareUpdateOptionsArgs(auto_software_update_enabled=True),
    }
