"""Three-tier VPC: public (load balancers, NAT), private (EKS nodes and pods), isolated (RDS,
ElastiCache; no route to the internet at all)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.security_group import tcp_rule
from components.network.subnet_plan import SubnetPrefixes, SubnetSpec, plan_subnets


@dataclass(frozen=True)
class NetworkArgs:
    #: The VPC's IPv4 range.
    cidr: str
    #: Zones to span, in order; the plan gives each its subnet of every tier.
    availability_zones: Sequence[str]
    #: Zones each tier reserves room for, so adding a zone never renumbers a subnet.
    az_slots: int
    #: Per-tier prefix lengths the subnet plan carves each zone's subnets with.
    subnet_prefixes: SubnetPrefixes
    #: "per-az": a NAT gateway per zone (an AZ outage keeps egress elsewhere); "single": one shared.
    nat_gateways: str
    #: Days VPC flow logs stay in CloudWatch Logs.
    flow_log_retention_days: int
    #: ALL, ACCEPT or REJECT.
    flow_log_traffic_type: str
    #: Who administers the flow logs' key (the deploy role), in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the flow logs (prod's audit trail).
    protect: bool
    #: Extra tags on private subnets, e.g. Karpenter's `karpenter.sh/discovery`.
    private_subnet_tags: Mapping[str, str] = field(default_factory=dict)
    #: Extra tags on the data-clients security group (Karpenter attaches it to nodes it launches).
    data_client_group_tags: Mapping[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:network:Network"

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        azs = list(args.availability_zones)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        # FSBP EC2.2: the default security group must not allow any traffic.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)

        plan = plan_subnets(args.cidr, len(azs), args.subnet_prefixes.model_dump(), args.az_slots)
        subnets = self._subnets(name, vpc, azs, plan, args)
        nats = self._routing(name, vpc, azs, subnets, args)
        self.flow_log_group_name = self._flow_logs(name, vpc, args)
        data_clients = self._data_clients(name, vpc, args)

        isolated_ids = [s.id for s in subnets["isolated"]]
        db_group = aws.rds.SubnetGroup(
            f"{name}-db",
            description="RDS on the isolated tier",
            subnet_ids=isolated_ids,
            opts=child,
        )
        cache_group = aws.elasticache.SubnetGroup(
            f"{name}-cache",
            description="ElastiCache on the isolated tier",
            subnet_ids=isolated_ids,
            opts=child,
        )

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.availability_zones = azs
        #: Ranges by tier, known before anything exists (network policies allow the ALB and data tiers).
        self.subnet_cidrs = {tier: [spec.cidr for spec in plan if spec.tier == tier] for tier in subnets}
        self.public_subnet_ids = [s.id for s in subnets["public"]]
        self.private_subnet_ids = [s.id for s in subnets["private"]]
        self.isolated_subnet_ids = isolated_ids
        self.db_subnet_group_name = db_group.name
        self.cache_subnet_group_name = cache_group.name
        self.nat_public_ips = [eip.public_ip for _, eip in nats]
        self.nat_gateway_ids = [nat.id for nat, _ in nats]
        self.data_client_security_group_id = data_clients.id
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "availabilityZones": self.availability_zones,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
                "dbSubnetGroupName": self.db_subnet_group_name,
                "cacheSubnetGroupName": self.cache_subnet_group_name,
                "natPublicIps": self.nat_public_ips,
                "natGatewayIds": self.nat_gateway_ids,
                "privateRouteTableIds": self.private_route_table_ids,
                "subnetCidrs": self.subnet_cidrs,
                "flowLogGroupName": self.flow_log_group_name,
                "dataClientSecurityGroupId": self.data_client_security_group_id,
            }
        )

    def _subnets(
        self, name: str, vpc: aws.ec2.Vpc, azs: list[str], plan: list[SubnetSpec], args: NetworkArgs
    ) -> dict[str, list[aws.ec2.Subnet]]:
        """One subnet per tier and zone, as planned; the role tags let load balancers find theirs."""
        child = pulumi.ResourceOptions(parent=self)
        subnets: dict[str, list[aws.ec2.Subnet]] = {"public": [], "private": [], "isolated": []}
        role_tags = {
            "public": {"kubernetes.io/role/elb": "1"},
            "private": {"kubernetes.io/role/internal-elb": "1", **args.private_subnet_tags},
            "isolated": {},
        }
        for spec in plan:
            az = azs[spec.az_index]
            subnets[spec.tier].append(
                aws.ec2.Subnet(
                    f"{name}-{spec.tier}-{az}",
                    vpc_id=vpc.id,
                    cidr_block=spec.cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{name}-{spec.tier}-{az}", "Tier": spec.tier, **role_tags[spec.tier]},
                    opts=child,
                )
            )

        return subnets

    def _routing(
        self, name: str, vpc: aws.ec2.Vpc, azs: list[str], subnets: dict[str, list[aws.ec2.Subnet]], args: NetworkArgs
    ) -> list[tuple[aws.ec2.NatGateway, aws.ec2.Eip]]:
        """Public tier to the internet gateway, private tier through NAT (per zone or shared),
        isolated tier nowhere but the S3 gateway endpoint. Returns the NAT gateways and addresses."""
        child = pulumi.ResourceOptions(parent=self)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=child)
        public_rt = self._route_table(f"{name}-public", vpc, subnets["public"])
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        nat_count = len(azs) if args.nat_gateways == "per-az" else 1
        nats: list[aws.ec2.NatGateway] = []
        eips: list[aws.ec2.Eip] = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(
                f"{name}-nat-{azs[index]}", domain="vpc", tags={"Name": f"{name}-nat-{azs[index]}"}, opts=child
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{azs[index]}",
                    allocation_id=eip.id,
                    subnet_id=subnets["public"][index].id,
                    tags={"Name": f"{name}-nat-{azs[index]}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
            eips.append(eip)

        private_rts = []
        for index, subnet in enumerate(subnets["private"]):
            rt = self._route_table(f"{name}-private-{azs[index]}", vpc, [subnet])
            aws.ec2.Route(
                f"{name}-private-{azs[index]}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[index % nat_count].id,
                opts=child,
            )
            private_rts.append(rt)
        #: Where routes to peered networks (the delivery runner) go: the private tier's tables.
        self.private_route_table_ids = [rt.id for rt in private_rts]
        isolated_rt = self._route_table(f"{name}-isolated", vpc, subnets["isolated"])

        # Image pulls from ECR layers and S3 traffic skip the NAT gateways (cost and bandwidth).
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).apply(
                lambda region: f"com.amazonaws.{region.region}.s3"
            ),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in [*private_rts, isolated_rt]],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )

        return list(zip(nats, eips, strict=True))

    def _data_clients(self, name: str, vpc: aws.ec2.Vpc, args: NetworkArgs) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        # Attached by the compute layer to whatever talks to the data tier (nodes, PgBouncer);
        # the databases and caches admit their ports from this group only.
        data_clients = aws.ec2.SecurityGroup(
            f"{name}-data-clients",
            vpc_id=vpc.id,
            description="Clients of RDS and ElastiCache",
            tags={"Name": f"{name}-data-clients", **args.data_client_group_tags},
            opts=child,
        )
        reach = "Data-tier clients reach services inside the VPC"
        tcp_rule(
            f"{name}-data-clients-to-vpc", data_clients.id, (0, 65535), reach, self, egress=True, cidr_ipv4=args.cidr
        )

        return data_clients

    def _route_table(self, name: str, vpc: aws.ec2.Vpc, subnets: Sequence[aws.ec2.Subnet]) -> aws.ec2.RouteTable:
        table = aws.ec2.RouteTable(name, vpc_id=vpc.id, tags={"Name": name}, opts=pulumi.ResourceOptions(parent=self))
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-{index}",
                route_table_id=table.id,
                subnet_id=subnet.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return table

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, args: NetworkArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        account = args.key_access.account_id
        key = component_key(
            f"{name}-flow-logs-key",
            "CloudWatch Logs encryption",
            self,
            args.protect,
            args.key_access,
            [f"{name}-flow-logs-*"],
        )
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=key.arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=service_trust_policy("vpc-flow-logs.amazonaws.com", account),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=policy_document(
                [
                    statement(
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [group.arn, pulumi.Output.concat(group.arn, ":*")],
                    )
                ]
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type=args.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
        return group.name
