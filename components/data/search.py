"""Amazon OpenSearch Service domain for the catalogue search: product search must not land on
PostgreSQL at 10,000 users.

Access is fine-grained access control with an IAM master and no internal users: no password
exists. Every request is SigV4-signed by an IAM principal of the account (the resource policy
admits the account, FGAC decides what each role may do). The master is a dedicated role that
only the domain's security function runs as: it applies the security roles and their mappings
to the clients' IAM roles as code (components/data/search_security/), invoked by Pulumi whenever
they change. Clients (Odoo writes the catalogue, the gateway reads it) sign with their pods'
Pod Identity.

Log groups receive the slow, error and audit logs through a CloudWatch Logs resource policy for
`es.amazonaws.com`, made before the domain: without it the domain's creation fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.python_function import RUNTIME, function_basics, python_archive, source_digest
from components.aws.security_group import port_from_groups, tcp_rule

PORT = 443
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
LOG_TYPES = ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS")
#: The security function's source (stdlib and botocore: nothing to package beside it).
SECURITY_SOURCE = Path(__file__).resolve().parent / "search_security"


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
            log_groups=[
                *(f"{name}-{log_type.lower().replace('_', '-')}-*" for log_type in LOG_TYPES),
                f"/aws/lambda/{args.domain_name}-security",
            ],
        )
        admin, function_group, group = self._access(name, args)
        logs, log_access = self._log_groups(name, args, key.arn)
        # The account's service-linked role is the bootstrap's (components/delivery/service_linked_roles.py).
        prerequisites: list[pulumi.Resource] = [*logs.values(), log_access]
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
            advanced_security_options=_fine_grained_access(admin.arn),
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
        self._security_function = self._function(name, args, admin, function_group.id, key.arn)
        self.security_function_name = self._security_function.name
        self.endpoint = domain.endpoint
        #: What clients connect to (no credential in it: they sign their requests).
        self.url = pulumi.Output.concat("https://", domain.endpoint)
        self.domain_name = args.domain_name
        self.domain_arn = domain.arn
        self.security_group_id = group.id
        self.port = PORT
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "url": self.url,
                "domainName": self.domain_name,
                "securityGroupId": self.security_group_id,
            }
        )

    def _access(
        self, name: str, args: SearchDomainArgs
    ) -> tuple[aws.iam.Role, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """The IAM master (only the security function runs as it), the function's group and the
        domain's: 443 from the data clients and from the function."""
        admin = aws.iam.Role(
            f"{name}-admin",
            description="The OpenSearch domain's IAM master: only its security function runs as it",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com", args.account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        function_group = aws.ec2.SecurityGroup(
            f"{name}-security-sg",
            vpc_id=args.vpc_id,
            description="OpenSearch security function",
            tags={"Name": f"{name}-security-sg"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        group = port_from_groups(
            f"{name}-sg",
            args.vpc_id,
            PORT,
            {**args.client_security_groups, "security-function": function_group.id},
            "OpenSearch clients (HTTPS)",
            self,
        )
        tcp_rule(
            f"{name}-security-to-domain",
            function_group.id,
            (PORT, PORT),
            "the domain",
            self,
            True,
            referenced_security_group_id=group.id,
        )
        return admin, function_group, group

    def _function(
        self,
        name: str,
        args: SearchDomainArgs,
        admin: aws.iam.Role,
        group_id: pulumi.Input[str],
        key_arn: pulumi.Input[str],
    ) -> aws.lambda_.Function:
        """The security function, in the domain's own subnets: it needs nothing but the domain
        (Lambda hands it its role's credentials; signing calls no AWS API). Its role may send the
        domain the security plugin's requests only: within the account the domain's policy
        defers to the caller's own, so without this FGAC would never see them."""
        child = pulumi.ResourceOptions(parent=self)
        function_name = f"{args.domain_name}-security"
        logs = aws.cloudwatch.LogGroup(
            f"{name}-security-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=key_arn,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-admin",
            role=admin.id,
            policy=policy_document(
                [
                    *function_basics(logs.arn, key_arn),
                    statement(
                        ["es:ESHttpGet", "es:ESHttpPut"],
                        [pulumi.Output.concat(_domain_arn(args), "/_plugins/_security/*")],
                    ),
                ]
            ),
            opts=child,
        )
        return aws.lambda_.Function(
            f"{name}-security",
            name=function_name,
            description="Applies the OpenSearch security roles and mappings as the domain's IAM master",
            runtime=RUNTIME,
            handler="search_security.apply.handler",
            code=python_archive(SECURITY_SOURCE, ()),
            role=admin.arn,
            timeout=60,
            memory_size=128,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids)[: args.zone_count], security_group_ids=[group_id]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]),
        )

    def apply_security(
        self, name: str, roles: dict, mappings: dict[str, list[pulumi.Input[str]]], parent: pulumi.Resource
    ) -> aws.lambda_.Invocation:
        """The domain's security roles and their mappings to IAM roles, applied as the master
        whenever they change (and on the first `up`, once the domain exists)."""
        state = pulumi.Output.all(
            self.url, pulumi.Output.all(**{k: pulumi.Output.all(*v) for k, v in mappings.items()})
        )
        return aws.lambda_.Invocation(
            name,
            function_name=self._security_function.name,
            input=state.apply(
                lambda s: json.dumps({"endpoint": s[0], "roles": roles, "mappings": s[1]}, sort_keys=True)
            ),
            # A new function (its source changed) applies everything again too.
            triggers={"source": source_digest(SECURITY_SOURCE)},
            opts=pulumi.ResourceOptions(parent=parent),
        )

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


def _fine_grained_access(master_arn: pulumi.Input[str]) -> aws.opensearch.DomainAdvancedSecurityOptionsArgs:
    """Fine-grained access control with an IAM master and no internal user database: no
    password, no anonymous access."""
    return aws.opensearch.DomainAdvancedSecurityOptionsArgs(
        enabled=True,
        anonymous_auth_enabled=False,
        internal_user_database_enabled=False,
        master_user_options=aws.opensearch.DomainAdvancedSecurityOptionsMasterUserOptionsArgs(
            master_user_arn=master_arn
        ),
    )


def _domain_arn(args: SearchDomainArgs) -> pulumi.Output[str]:
    """The domain's ARN, named before the domain exists (its policy and its master's name it)."""
    return pulumi.Output.concat("arn:aws:es:", args.region, ":", args.account_id, ":domain/", args.domain_name)


def _access_policy(args: SearchDomainArgs) -> pulumi.Output[str]:
    """HTTP to this domain's paths for the account's IAM principals whose own policies allow
    it (signed requests only): fine-grained access control decides per role."""
    domain_arn = _domain_arn(args)
    account = pulumi.Output.concat("arn:aws:iam::", args.account_id, ":root")
    return policy_document(
        [{**statement(["es:ESHttp*"], [pulumi.Output.concat(domain_arn, "/*")]), "Principal": {"AWS": account}}]
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
