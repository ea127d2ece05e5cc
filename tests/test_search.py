"""The search tier: an OpenSearch domain shaped per stack (prod: 3 zones, 3 cluster managers,
data nodes in multiples of 3, protected; staging: one node, deletable), reachable only from the
data clients on 443, its credentials only in secrets, its logs able to arrive."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROJECT, program_run, section, section_problems, with_section
from tests.test_deploy_readiness import waits_for

DOMAIN = "aws:opensearch/domain:Domain"


def domain_of(run):
    return run.one(DOMAIN)


def test_prod_spreads_over_three_zones_with_dedicated_managers(prod):
    cluster = domain_of(prod).inputs["clusterConfig"]
    assert cluster["zoneAwarenessEnabled"] and cluster["zoneAwarenessConfig"] == {"availabilityZoneCount": 3}
    assert cluster["instanceCount"] % 3 == 0 and cluster["instanceCount"] >= 3
    assert (cluster["dedicatedMasterEnabled"], cluster["dedicatedMasterCount"]) == (True, 3)
    assert cluster["warmEnabled"] is False
    assert len(domain_of(prod).inputs["vpcOptions"]["subnetIds"]) == 3


def test_staging_is_one_small_node(staging):
    cluster = domain_of(staging).inputs["clusterConfig"]
    assert cluster["instanceCount"] == 1 and cluster["zoneAwarenessEnabled"] is False
    assert cluster["dedicatedMasterEnabled"] is False and "dedicatedMasterCount" not in cluster
    assert len(domain_of(staging).inputs["vpcOptions"]["subnetIds"]) == 1


@pytest.mark.parametrize(("stack", "protected"), [("staging", False), ("prod", True)])
def test_domain_and_key_are_protected_in_prod(stack, protected):
    run = program_run(stack)
    stateful = [r for r in run.resources if "-search" in r.name and r.type in (DOMAIN, "aws:kms/key:Key")]
    assert len(stateful) == 2 and {r.protect for r in stateful} == {protected}
    assert not [r for r in run.of_type("aws:secretsmanager/secret:Secret") if "-search" in r.name]


def test_only_the_isolated_subnets_odoo_the_gateway_and_its_function_on_443(run):
    domain = domain_of(run)
    isolated = {s.name + "-id" for s in run.of_type("aws:ec2/subnet:Subnet") if "-isolated-" in s.name}
    assert set(domain.inputs["vpcOptions"]["subnetIds"]) <= isolated
    rules = [
        r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-search-sg-" in r.name
    ]
    assert rules and all(r.inputs["fromPort"] == r.inputs["toPort"] == 443 for r in rules)
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == {
        f"sd-{run.stack}-pods-odoo-id",
        f"sd-{run.stack}-pods-api-gateway-id",
        f"sd-{run.stack}-search-security-sg-id",
    }
    assert not any("cidrIpv4" in r.inputs for r in rules)


def test_encrypted_https_only_with_an_iam_master_and_no_password(run):
    domain = domain_of(run)
    inputs = domain.inputs
    assert inputs["encryptAtRest"]["enabled"] and inputs["encryptAtRest"]["kmsKeyId"].endswith("-search-key")
    assert inputs["nodeToNodeEncryption"] == {"enabled": True}
    assert inputs["domainEndpointOptions"] == {
        "enforceHttps": True,
        "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }
    security = inputs["advancedSecurityOptions"]
    assert security["enabled"] and not security["internalUserDatabaseEnabled"] and not security["anonymousAuthEnabled"]
    admin = run.named(f"sd-{run.stack}-search-admin", "aws:iam/role:Role")
    assert security["masterUserOptions"] == {"masterUserArn": admin.state["arn"]}
    assert "advancedSecurityOptions" not in domain.secret_paths
    [statement] = json.loads(inputs["accessPolicies"])["Statement"]
    # The account's signed requests to this domain's paths only: FGAC decides per role.
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Resource"] == [f"arn:aws:es:eu-west-1:123456789012:domain/sd-{run.stack}-search/*"]
    assert statement["Action"] == ["es:ESHttp*"]


def test_only_the_security_function_runs_as_the_master(run):
    """The master role trusts Lambda only, in this account, and is the security function's role."""
    admin = run.named(f"sd-{run.stack}-search-admin", "aws:iam/role:Role")
    [trust] = json.loads(admin.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    function = run.named(f"sd-{run.stack}-search-security", "aws:lambda/function:Function")
    assert function.inputs["role"] == admin.state["arn"]
    assert function.inputs["handler"] == "search_security.apply.handler"


def test_logs_can_arrive_before_the_domain_exists(run):
    domain = domain_of(run)
    published = {o["logType"]: o["cloudwatchLogGroupArn"] for o in domain.inputs["logPublishingOptions"]}
    assert set(published) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"}
    access = run.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    [statement] = json.loads(access.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert sorted(statement["Resource"]) == sorted(f"{arn}:*" for arn in published.values())
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert waits_for(run, domain, access)


def test_odoo_writes_and_the_gateway_reads_the_catalogue_through_their_roles(run):
    """No credential in the URL: each app signs with its pods' role, which the mappings name."""
    endpoint = domain_of(run).state["endpoint"]
    domain_arn = domain_of(run).state["arn"]
    deployments = {d.inputs["metadata"]["name"]: d for d in run.of_type("kubernetes:apps/v1:Deployment")}
    for name in ("odoo", "api-gateway"):
        env = {
            e["name"]: e.get("value")
            for e in deployments[name].inputs["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["SEARCH_URL"] == f"https://{endpoint}" and env["SEARCH_AUTH"] == "aws-sigv4"
    [invocation] = run.of_type("aws:lambda/invocation:Invocation")
    state = json.loads(invocation.inputs["input"])
    roles = {r.name: r.state["arn"] for r in run.of_type("aws:iam/role:Role")}
    assert state["mappings"] == {
        "catalogue_writer": [roles[f"sd-{run.stack}-odoo-identity"]],
        "catalogue_reader": [roles[f"sd-{run.stack}-api-gateway-identity"]],
    }
    assert state["endpoint"] == f"https://{endpoint}"
    policies = {p.name: json.loads(p.inputs["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    for component, writes in (("odoo", True), ("api-gateway", False)):
        [search] = [
            s for s in policies[f"sd-{run.stack}-{component}-identity"]["Statement"] if s["Action"][0].startswith("es:")
        ]
        assert search["Resource"] == [f"{domain_arn}/*"]
        assert ("es:ESHttpPut" in search["Action"]) is writes


def test_network_policies_open_443_to_the_data_tier_for_the_apps_only(run):
    specs = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }

    def ports(name):
        return {p["port"] for rule in specs[name].get("egress", []) for p in rule.get("ports", [])}

    assert 443 in ports("odoo") and 443 in ports("api-gateway")
    assert 443 not in ports("pgbouncer")


def test_no_stack_makes_an_account_role(run):
    """The OpenSearch (and Spot) service-linked roles are the bootstrap's: a stack that made one
    would delete it at its destroy while the other environment's domain still uses it."""
    assert not run.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"instanceCount": 4}, "instanceCount 4 is not a multiple of zoneCount 3"),
        ({"dedicatedMasterCount": 2}, "search.dedicatedMasterCount = 2: Input should be 0, 3 or 5"),
        ({"dedicatedMasterType": None}, "dedicatedMasterType is required with dedicatedMasterCount 3 or 5"),
        ({"instanceType": "t3.medium.search"}, "autoTune is not offered on t3.medium.search"),
        ({"throughputMbps": 1000}, "throughputMbps 1000 needs iops >= 4000"),
        ({"warmCount": 2}, "warmCount > 0 needs dedicatedMasterCount 3 or 5 and a warmType"),
        ({"engineVersion": "Elasticsearch_7.10"}, "search.engineVersion"),
    ],
)
def test_bad_search_settings_are_one_line_naming_the_key(overrides, expected):
    [problem] = section_problems("prod", "search", **overrides)
    assert expected in problem and "\n" not in problem and "search" in problem


def test_zone_count_cannot_exceed_the_networks_zones():
    config = with_section(
        "staging", f"{PROJECT}:search", section("staging", "search") | {"zoneCount": 3, "instanceCount": 3}
    )
    network = section("staging", "network")
    config[f"{PROJECT}:network"] = json.dumps(network | {"azCount": 2})
    from tests.conftest import config_problems

    [problem] = config_problems(config)
    assert problem.startswith(f"{PROJECT}:search.zoneCount: 3 zones but the network spans network.azCount = 2")


def test_search_alarms_watch_the_domain_of_this_account(run):
    alarms = {a.inputs["name"]: a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    # A single data node (staging) can never place a replica: it alarms on red only.
    watched = ("red", "jvm-pressure", "storage", "latency", *(("yellow",) if run.stack == "prod" else ()))
    names = {f"sd-{run.stack}-search-{n}" for n in watched}
    assert names <= set(alarms)
    for name in names:
        assert alarms[name].inputs["namespace"] == "AWS/ES"
        assert alarms[name].inputs["dimensions"] == {"DomainName": f"sd-{run.stack}-search", "ClientId": "123456789012"}


def test_the_master_may_send_the_security_api_its_requests_and_nothing_else(run):
    """Within the account the domain's policy defers to the caller's own: the master's must
    allow the security plugin's paths, or FGAC never sees its requests."""
    policy = json.loads(run.named(f"sd-{run.stack}-search-admin", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    [search] = [s for s in policy["Statement"] if s["Action"][0].startswith("es:")]
    assert search["Action"] == ["es:ESHttpGet", "es:ESHttpPut"]
    assert search["Resource"] == [
        f"arn:aws:es:eu-west-1:123456789012:domain/sd-{run.stack}-search/_plugins/_security/*"
    ]
    [invocation] = run.of_type("aws:lambda/invocation:Invocation")
    assert len(invocation.inputs["triggers"]["source"]) == 64
