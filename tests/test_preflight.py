"""`make preflight` against a mocked account: moto where it implements the call (STS, Route 53,
IAM, EC2), botocore's Stubber with the real API shapes where it does not (RDS orderable options,
ElastiCache versions, EKS versions and add-ons, SSM public parameters, Service Quotas)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from components.delivery.service_linked_roles import PLATFORM_SERVICE_ROLES
from stacks.compute import ADDON_NAMES
from stacks.stack_file import load_stack
from tests.conftest import PROJECT
from tools import preflight
from tools.preflight import Clients, Preflight

#: Loads the stack through the program's config loader against a mocked account.
pytestmark = pytest.mark.program

REGION = "eu-west-1"
ZONES = [f"{REGION}{letter}" for letter in "abc"]


def healthy_stubs(config, clients: Clients, **overrides) -> list[Stubber]:
    """Answers of an account that offers everything the stack asks for, in call order.
    `overrides` replaces one answer: {"addon:coredns": [...versions], "ami": error code, ...}."""
    db, cache, cluster = config.database, config.cache, config.cluster
    rds = Stubber(clients.rds)
    for instance_class in filter(None, [db.instance_class, db.replica_instance_class]):
        options = overrides.get(f"rds:{instance_class}", [f"{db.engine_version}.4"])
        rds.add_response(
            "describe_orderable_db_instance_options",
            {
                "OrderableDBInstanceOptions": [
                    {
                        "Engine": "postgres",
                        "EngineVersion": version,
                        "DBInstanceClass": instance_class,
                        "StorageType": "gp3",
                        "AvailabilityZones": [{"Name": zone} for zone in ZONES],
                    }
                    for version in options
                ]
            },
        )
    elasticache = Stubber(clients.elasticache)
    elasticache.add_response(
        "describe_cache_engine_versions",
        {"CacheEngineVersions": [{"Engine": cache.engine, "EngineVersion": cache.engine_version}]},
    )
    for node_type in filter(None, [cache.node_type, cache.sessions_node_type]):
        elasticache.add_response(
            "describe_reserved_cache_nodes_offerings",
            {"ReservedCacheNodesOfferings": [{"ReservedCacheNodesOfferingId": "o-1", "CacheNodeType": node_type}]},
        )
    eks = Stubber(clients.eks)
    eks.add_response(
        "describe_cluster_versions",
        {"clusterVersions": [{"clusterVersion": cluster.kubernetes_version, "versionStatus": "STANDARD_SUPPORT"}]},
    )
    for field, version in cluster.addons.model_dump().items():
        name = ADDON_NAMES[field]
        offered = overrides.get(f"addon:{name}", [version])
        eks.add_response(
            "describe_addon_versions",
            {"addons": [{"addonName": name, "addonVersions": [{"addonVersion": v} for v in offered]}]},
        )
    ssm = Stubber(clients.ssm)
    if not cluster.karpenter.ami_alias.endswith("@latest"):
        if "ami" in overrides:
            ssm.add_client_error("get_parameter", service_error_code=overrides["ami"], http_status_code=400)
        else:
            ssm.add_response("get_parameter", {"Parameter": {"Name": "p", "Type": "String", "Value": "ami-0123"}})
    elasticache.add_response("describe_cache_clusters", {"CacheClusters": []})
    quotas = Stubber(clients.quotas)
    for _service, name, default in preflight.QUOTAS.values():
        quotas.add_response("list_service_quotas", {"Quotas": [{"QuotaName": name, "Value": float(default)}]})
    ce = Stubber(clients.ce)
    status = overrides.get("environment_tag")
    tags = [{"TagKey": "Environment", "Type": "UserDefined", "Status": status}] if status else []
    ce.add_response(
        "list_cost_allocation_tags",
        {"CostAllocationTags": tags},
        {"TagKeys": ["Environment"], "Type": "UserDefined"},
    )
    return [rds, elasticache, eks, ssm, quotas, ce]


@contextmanager
def account(stack: str = "prod", **overrides: Any) -> Iterator[tuple[Preflight, Clients]]:
    """A moto account holding the stack's zone and principals, with the stubbed services."""
    config, project = load_stack(stack)
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        clients = Clients.for_region(REGION, session)
        zone = clients.route53.create_hosted_zone(Name=config.cdn.domain, CallerReference="preflight")
        zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        trust = '{"Version":"2012-10-17","Statement":[]}'
        delivery = config.delivery
        for arn in [delivery.deploy_role_arn, delivery.preview_role_arn, *config.cluster.admin_principal_arns]:
            if arn and arn.rsplit("/", 1)[-1] != overrides.get("missing_role"):
                clients.iam.create_role(RoleName=arn.rsplit("/", 1)[-1], AssumeRolePolicyDocument=trust)
        for service, role in PLATFORM_SERVICE_ROLES.items():
            if service != overrides.get("missing_service_role"):
                # As AWS names it (moto's create_service_linked_role derives another name).
                clients.iam.create_role(
                    RoleName=role, Path=f"/aws-service-role/{service}/", AssumeRolePolicyDocument=trust
                )
        for _ in range(overrides.get("elastic_ips", 0)):
            clients.ec2.allocate_address(Domain="vpc")
        real = config.model_copy(
            update={
                "example": overrides.get("example", False),
                "cdn": config.cdn.model_copy(update={"hosted_zone_id": overrides.get("zone", zone_id)}),
            }
        )
        stubbers = healthy_stubs(real, clients, **overrides)
        for stubber in stubbers:
            stubber.activate()
        yield Preflight(real, project, clients), clients
        for stubber in stubbers:
            stubber.assert_no_pending_responses()


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_ready_account_has_no_problems(stack):
    with account(stack) as (check, _):
        assert check.problems() == []


def test_a_missing_hosted_zone_is_one_line_naming_the_key():
    with account(zone="Z0MISSING") as (check, _):
        assert check.problems() == [
            f"{PROJECT}:cdn.hostedZoneId = 'Z0MISSING': no such hosted zone in this account (NoSuchHostedZone)"
        ]


def test_a_template_stack_is_reported():
    with account(example=True) as (check, _):
        [problem] = check.problems()
        assert problem.startswith(f"{PROJECT}:example = true: the stack file is still a template")


def test_a_missing_deployer_role_is_reported():
    with account(missing_role="smartdairy-prod-deploy") as (check, _):
        [problem] = check.problems()
        assert problem.startswith(f"{PROJECT}:delivery.deployRoleArn = 'arn:aws:iam::123456789012:role/")
        assert problem.endswith("no such IAM role (NoSuchEntity)")


def test_an_addon_build_eks_does_not_offer_is_reported():
    with account("prod", **{"addon:coredns": ["v1.13.1-eksbuild.1"]}) as (check, _):
        [problem] = check.problems()
        assert problem.startswith(f"{PROJECT}:cluster.addons.coredns = 'v1.12.4-eksbuild.1': no such coredns build")


def test_an_instance_class_without_the_engine_is_reported():
    config, _ = load_stack("prod")
    with account("prod", **{f"rds:{config.database.instance_class}": ["15.8"]}) as (check, _):
        [problem] = check.problems()
        assert problem == (
            f"{PROJECT}:database.instanceClass = {config.database.instance_class!r}: "
            f"RDS offers no PostgreSQL 16 on gp3 with it in {REGION}"
        )


def test_an_ami_release_karpenter_cannot_resolve_is_reported():
    with account(ami="ParameterNotFound") as (check, _):
        [problem] = check.problems()
        assert problem.startswith(f"{PROJECT}:cluster.karpenter.amiAlias = 'al2023@v")
        assert "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/" in problem


def test_elastic_ips_for_the_nat_gateways_must_fit_the_quota():
    with account(elastic_ips=3) as (check, _):  # prod adds 3 NAT gateways; the quota is 5
        [problem] = check.problems()
        assert problem == (
            f"{PROJECT}:network.natGateways: needs 3 more of 'EC2-VPC Elastic IPs' (3 used of 5); "
            "request an increase first"
        )


@pytest.mark.parametrize(
    ("stack", "service", "role"),
    [
        ("staging", "opensearchservice.amazonaws.com", "AWSServiceRoleForAmazonOpenSearchService"),
        ("prod", "spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
    ],
)
def test_a_missing_service_linked_role_names_the_bootstrap_key(stack, service, role):
    with account(stack, missing_service_role=service) as (check, _):
        assert check.problems() == [
            f"smartdairy-bootstrap:serviceLinkedRoles: the account has no {role}; "
            f"run the bootstrap with {service} in the list"
        ]


def test_a_stack_without_spot_pools_needs_no_spot_role():
    with account("staging", missing_service_role="spot.amazonaws.com") as (check, _):
        assert list(check.service_roles())  # staging's burst pool takes spot
        karpenter = check.config.cluster.karpenter
        pools = [p.model_copy(update={"capacity_types": ["on-demand"]}) for p in karpenter.node_pools]
        karpenter = karpenter.model_copy(update={"node_pools": pools})
        cluster = check.config.cluster.model_copy(update={"karpenter": karpenter})
        check.config = check.config.model_copy(update={"cluster": cluster})
        assert check.problems() == []


@pytest.mark.parametrize("status", [None, "Active"])
def test_an_active_or_not_yet_listed_environment_tag_is_no_problem(status):
    """An empty account lists the tag only a day after the first resource carries it."""
    with account("staging", environment_tag=status) as (check, _):
        assert check.problems() == []


def test_an_inactive_environment_tag_is_reported_naming_the_cost_key():
    with account("staging", environment_tag="Inactive") as (check, _):
        [problem] = check.problems()
    assert problem.startswith("smartdairy-platform:cost: the cost allocation tag Environment is inactive")
    assert "update-cost-allocation-tags-status" in problem


def test_the_command_prints_each_problem_and_fails(monkeypatch, capsys):
    with account(zone="Z0MISSING") as (_, clients):
        monkeypatch.setattr(Clients, "for_region", classmethod(lambda cls, region, session=None: clients))
        assert preflight.main(["prod"]) == 1  # the stack file: a template, with a placeholder zone
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "preflight prod: 2 problem(s)"
    assert any(line.startswith(f"{PROJECT}:cdn.hostedZoneId = 'Z0PROD") for line in out)


def test_the_test_sessions_share_one_model_loader_holding_each_search_path_once():
    """conftest: every session reads the same parsed service models; boto3's per-session append
    of its data path does not grow the shared loader's search path."""
    first, second = (boto3.Session(region_name=REGION) for _ in range(2))
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert len(loader.search_paths) == len(set(loader.search_paths))
