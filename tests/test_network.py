"""What the Network component registers, per stack and in isolation."""

from __future__ import annotations

import ipaddress
import json

import pulumi
import pytest

from components.network.subnet_plan import SubnetPrefixes
from components.network.vpc import Network, NetworkArgs
from synth.mock_runtime import run_callable
from tests.harness.checks import nonempty
from tests.harness.checks import sample_key_access as key_access

REQUIRED_TAGS = {"Project", "Environment", "Owner", "CostCenter", "ManagedBy"}
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"


def subnets(run, tier):
    return [s for s in run.of_type(SUBNET) if s.inputs["tags"]["Tier"] == tier]


def test_prod_spans_three_azs_with_a_nat_gateway_each(prod):
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3
    public_by_id = {f"{s.name}-id": s.inputs["availabilityZone"] for s in subnets(prod, "public")}
    assert sorted(public_by_id[n.inputs["subnetId"]] for n in nats) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    # Each private subnet's default route leaves through the NAT gateway of its own AZ.
    for route in (r for r in prod.of_type(ROUTE) if "natGatewayId" in r.inputs):
        az = route.name.removeprefix("sd-prod-private-").removesuffix("-default")
        assert route.inputs["natGatewayId"] == f"sd-prod-nat-{az}-id"


def test_staging_shares_one_nat_gateway(staging):
    [nat] = staging.of_type("aws:ec2/natGateway:NatGateway")
    private_routes = [r for r in staging.of_type(ROUTE) if "natGatewayId" in r.inputs]
    assert len(private_routes) == 3
    assert {r.inputs["natGatewayId"] for r in private_routes} == {f"{nat.name}-id"}


def test_three_tiers_across_three_azs_inside_the_vpc(run):
    vpc = ipaddress.IPv4Network(run.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    for tier in ("public", "private", "isolated"):
        tier_subnets = subnets(run, tier)
        assert len({s.inputs["availabilityZone"] for s in tier_subnets}) == 3
        assert all(ipaddress.IPv4Network(s.inputs["cidrBlock"]).subnet_of(vpc) for s in tier_subnets)
        assert not any(s.inputs["mapPublicIpOnLaunch"] for s in tier_subnets)


def test_eks_discovery_tags(run):
    assert all(s.inputs["tags"].get("kubernetes.io/role/elb") == "1" for s in subnets(run, "public"))
    assert all(s.inputs["tags"].get("kubernetes.io/role/internal-elb") == "1" for s in subnets(run, "private"))
    inner = subnets(run, "private") + subnets(run, "isolated")
    assert not any("kubernetes.io/role/elb" in s.inputs["tags"] for s in inner)


def test_isolated_tier_has_no_route_out(run):
    isolated_table = run.named(f"sd-{run.stack}-isolated")
    assert not [r for r in run.of_type(ROUTE) if r.inputs["routeTableId"] == f"{isolated_table.name}-id"]


def test_data_subnet_groups_cover_exactly_the_isolated_tier(run):
    isolated_ids = sorted(f"{s.name}-id" for s in subnets(run, "isolated"))
    for type_ in ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"):
        assert sorted(run.one(type_).inputs["subnetIds"]) == isolated_ids


def test_s3_gateway_endpoint_serves_private_and_isolated_tables(run):
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert len(endpoint.inputs["routeTableIds"]) == 4


@pytest.mark.parametrize("stack,days", [("staging", 30), ("prod", 365)])
def test_flow_logs_to_cloudwatch_with_configured_retention(stack, days):
    from tests.conftest import program_run

    run = program_run(stack)
    flow_log = run.one("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["trafficType"] == "ALL"
    name = f"sd-{stack}-flow-logs"
    assert run.named(name, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == days
    policy = json.loads(run.named(name, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert all(s["Resource"] != "*" for s in policy["Statement"])
    trust = json.loads(run.named(name, "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_default_security_group_is_emptied(run):
    sg = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs.get("ingress", []) == [] and sg.inputs.get("egress", []) == []


def test_every_aws_resource_uses_the_tagged_stack_provider(run):
    aws_resources = [r for r in run.resources if r.custom and r.type.startswith("aws:")]
    assert aws_resources
    for resource in aws_resources:
        provider = run.provider_of(resource)
        assert provider is not None and provider.type == "pulumi:providers:aws", resource.name
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert set(tags) == REQUIRED_TAGS
        assert tags["Environment"] == run.stack and tags["ManagedBy"] == "pulumi"


def test_every_resource_sits_under_a_component(run):
    for resource in nonempty(run.resources):
        if resource.custom and not resource.type.startswith("pulumi:providers:"):
            assert run.component_of(resource).startswith("smartdairy:"), resource.name


def test_component_in_isolation_with_two_azs_and_custom_tags():
    def program():
        network = Network(
            "t",
            NetworkArgs(
                cidr="10.50.0.0/16",
                availability_zones=["eu-west-1a", "eu-west-1b"],
                az_slots=2,
                subnet_prefixes=SubnetPrefixes(public=24, private=20, isolated=24),
                nat_gateways="per-az",
                flow_log_retention_days=7,
                flow_log_traffic_type="ALL",
                key_access=key_access(),
                protect=False,
                private_subnet_tags={"karpenter.sh/discovery": "t-cluster"},
            ),
        )
        pulumi.export("private", network.private_subnet_ids)

    run = run_callable(program)
    assert run.one("smartdairy:network:Network").name == "t"
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 2
    private = subnets(run, "private")
    by_az = {s.inputs["availabilityZone"]: s.inputs["cidrBlock"] for s in private}
    assert by_az == {"eu-west-1a": "10.50.0.0/20", "eu-west-1b": "10.50.16.0/20"}
    assert all(s.inputs["tags"]["karpenter.sh/discovery"] == "t-cluster" for s in private)
    assert run.outputs["private"] == ["t-private-eu-west-1a-id", "t-private-eu-west-1b-id"]
