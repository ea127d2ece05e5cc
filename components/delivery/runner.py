"""A CodeBuild-hosted GitHub Actions runner for one environment, in a small VPC of its own.

Why: a private EKS endpoint is reachable only from its VPC or a connected network, and GitHub's
hosted runners are neither. The bootstrap creates this runner before any platform stack, so the
first `pulumi up` of an empty account already runs from here; the platform stack then peers its
VPC with this one (components/network/runner_peering.py) and opens its API on 443 to this range
only. The endpoint is never opened to GitHub's ranges or the internet.

Jobs reach the runner with `runs-on: codebuild-smartdairy-<env>-runner-${{ github.run_id }}-${{
github.run_attempt }}`; the webhook starts a build only for the delivery workflows. The runner's
own role can write its logs and attach to the VPC, nothing else: a job gets AWS rights only by
assuming the environment's roles with OIDC.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key

from .access import principal_name

#: Ubuntu (actions/setup-python needs it), 3 vCPU and 7 GiB: synth of prod fits.
IMAGE = "aws/codebuild/standard:7.0"
COMPUTE = "BUILD_GENERAL1_MEDIUM"


@dataclass(frozen=True)
class CodeBuildRunnerArgs:
    #: The platform environment whose jobs run here (names the project and its role).
    environment: str
    #: The runner VPC's range: peered with the environment's VPC, so it must not overlap it.
    cidr: str
    #: https://github.com/<owner>/<name>
    repository_url: str
    #: The account's GitHub connection (CodeConnections, authorised once in the console).
    connection_arn: pulumi.Input[str]
    #: Workflow names (`name:` in .github/workflows) whose jobs may start a build here.
    workflows: Sequence[str]
    #: Two zones (or an Output of them): the NAT lives in the first.
    availability_zones: pulumi.Input[Sequence[str]]
    #: Longest job, minutes (a prod `up`): CodeBuild stops a build at its timeout.
    build_timeout_minutes: int
    #: Days the build logs are kept.
    log_retention_days: int
    #: Where the runner lives (the service role's ARNs are built from them).
    account_id: pulumi.Input[str]
    #: The runner's region (the service role's ARNs are built from it).
    region: str
    #: Who administers the build logs' key (the state admins), in this account.
    key_access: KeyAccess


class CodeBuildRunner(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:delivery:CodeBuildRunner"

    def __init__(self, name: str, args: CodeBuildRunnerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        project_name = principal_name(args.environment, "runner")
        vpc = aws.ec2.Vpc(name, cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True, opts=child)
        public, *private = self._subnets(name, vpc, args)
        egress = self._egress(name, vpc, public)
        table = self._route_table(f"{name}-private", vpc, nat_gateway_id=egress.id)
        for index, subnet in enumerate(private):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
        group = aws.ec2.SecurityGroup(
            f"{name}-runner",
            vpc_id=vpc.id,
            description="CodeBuild runner: HTTPS and HTTP out (GitHub, registries, AWS APIs), nothing in",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp", from_port=port, to_port=port, cidr_blocks=["0.0.0.0/0"], description=why
                )
                for port, why in ((443, "HTTPS: GitHub, AWS APIs, the cluster API"), (80, "HTTP: Debian packages"))
            ],
            opts=child,
        )
        group_name = f"/aws/codebuild/{project_name}"
        # The deploy jobs' logs are an audit trail: key and group are protected like the state key.
        key = component_key(f"{name}-logs-key", "CloudWatch Logs encryption", self, True, args.key_access, [group_name])
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=group_name, retention_in_days=args.log_retention_days, kms_key_id=key.arn, opts=child
        )
        role = self._service_role(name, project_name, args, logs, private)
        project = aws.codebuild.Project(
            name,
            name=project_name,
            description=f"GitHub Actions runner of the {args.environment} delivery jobs",
            service_role=role.arn,
            build_timeout=args.build_timeout_minutes,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=args.repository_url,
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=args.connection_arn),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(type="LINUX_CONTAINER", image=IMAGE, compute_type=COMPUTE),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name)
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=vpc.id, subnets=[s.id for s in private], security_group_ids=[group.id]
            ),
            opts=child,
        )
        aws.codebuild.Webhook(
            name,
            project_name=project.name,
            build_type="BUILD",
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[
                        aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED"),
                        aws.codebuild.WebhookFilterGroupFilterArgs(
                            type="WORKFLOW_NAME", pattern="^(" + "|".join(args.workflows) + ")$"
                        ),
                    ]
                )
            ],
            opts=child,
        )
        self.vpc_id = vpc.id
        self.route_table_ids = [table.id]
        self.egress_ip = egress.public_ip
        self.label = f"codebuild-{project_name}"
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "routeTableIds": self.route_table_ids,
                "egressIp": self.egress_ip,
                "label": self.label,
            }
        )

    def _subnets(self, name: str, vpc: aws.ec2.Vpc, args: CodeBuildRunnerArgs) -> list[aws.ec2.Subnet]:
        """A public subnet for the NAT, then one private subnet per zone for the builds."""
        quarters = list(ipaddress.ip_network(args.cidr).subnets(prefixlen_diff=2))[:3]
        names = pulumi.Output.from_input(args.availability_zones)
        zones = [names[i] for i in (0, 0, 1)]
        return [
            aws.ec2.Subnet(
                f"{name}-{role}",
                vpc_id=vpc.id,
                cidr_block=str(block),
                availability_zone=zone,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, block, zone in zip(("public", "private-a", "private-b"), quarters, zones, strict=True)
        ]

    def _route_table(self, name: str, vpc: aws.ec2.Vpc, **default_target: pulumi.Output[str]) -> aws.ec2.RouteTable:
        """A route table whose default route goes to `default_target`. Routes are resources of
        their own, never inline: the platform stack adds its peering route to the private table,
        and an inline route list would remove it on the next bootstrap `up`."""
        table = aws.ec2.RouteTable(name, vpc_id=vpc.id, opts=pulumi.ResourceOptions(parent=self))
        aws.ec2.Route(
            f"{name}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            opts=pulumi.ResourceOptions(parent=self),
            **default_target,
        )
        return table

    def _egress(self, name: str, vpc: aws.ec2.Vpc, public: aws.ec2.Subnet) -> aws.ec2.NatGateway:
        child = pulumi.ResourceOptions(parent=self)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        table = self._route_table(f"{name}-public", vpc, gateway_id=gateway.id)
        aws.ec2.RouteTableAssociation(f"{name}-public", subnet_id=public.id, route_table_id=table.id, opts=child)
        address = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child)
        return aws.ec2.NatGateway(
            f"{name}-nat",
            subnet_id=public.id,
            allocation_id=address.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _service_role(
        self,
        name: str,
        project_name: str,
        args: CodeBuildRunnerArgs,
        logs: aws.cloudwatch.LogGroup,
        subnets: Sequence[aws.ec2.Subnet],
    ) -> aws.iam.Role:
        """CodeBuild's documented VPC statements (ENIs, only in these subnets), its log group,
        and the GitHub connection: every job can use these credentials, so nothing more."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-service",
            name=project_name,
            assume_role_policy=service_trust_policy("codebuild.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        interfaces = pulumi.Output.concat("arn:aws:ec2:", args.region, ":", args.account_id, ":network-interface/*")
        subnet_arns = [
            pulumi.Output.concat("arn:aws:ec2:", args.region, ":", args.account_id, ":subnet/", s.id) for s in subnets
        ]
        aws.iam.RolePolicy(
            f"{name}-service",
            role=role.id,
            policy=policy_document(
                [
                    statement(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(logs.arn, ":*")]),
                    statement(
                        [
                            "ec2:CreateNetworkInterface",
                            "ec2:DescribeDhcpOptions",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DeleteNetworkInterface",
                            "ec2:DescribeSubnets",
                            "ec2:DescribeSecurityGroups",
                            "ec2:DescribeVpcs",
                        ]
                    ),
                    statement(
                        ["ec2:CreateNetworkInterfacePermission"],
                        [interfaces],
                        conditions={
                            "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                            "ArnEquals": {"ec2:Subnet": subnet_arns},
                        },
                    ),
                    statement(
                        [
                            "codeconnections:GetConnectionToken",
                            "codeconnections:GetConnection",
                            "codeconnections:UseConnection",
                        ],
                        [args.connection_arn],
                    ),
                ]
            ),
            opts=child,
        )
        return role
