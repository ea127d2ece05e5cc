"""The search tier: an OpenSearch domain shaped per stack (prod: 3 zones, 3 cluster managers,
data nodes in multiples of 3, protected; staging: one node, deletable), reachable only from the
data clients on 443, its credentials only in secrets, its logs able to arrive."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlparse

import pytest

from synth.mock_runtime import SECRET_MARKER, run_program
from tests.conftest import PROJECT, program_run, section, section_problems, with_section
from tests.harness.checks import nonempty
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
def test_domain_key_and_secret_are_protected_in_prod(stack, protected):
    run = program_run(stack)
    stateful = [
        r
        for r in run.resources
        if "-search" in r.name and r.type in (DOMAIN, "aws:kms/key:Key", "aws:secretsmanager/secret:Secret")
    ]
    assert len(stateful) == 3 and {r.protect for r in stateful} == {protected}


def test_only_the_isolated_subnets_and_the_data_clients_on_443(run):
    domain = domain_of(run)
    isolated = {s.name + "-id" for s in run.of_type("aws:ec2/subnet:Subnet") if "-isolated-" in s.name}
    assert set(domain.inputs["vpcOptions"]["subnetIds"]) <= isolated
    rules = [
        r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-search-" in r.name
    ]
    assert rules and all(r.inputs["fromPort"] == r.inputs["toPort"] == 443 for r in rules)
    assert all(r.inputs["referencedSecurityGroupId"] == f"sd-{run.stack}-data-clients-id" for r in rules)
    assert not any("cidrIpv4" in r.inputs for r in rules)


def test_encrypted_https_only_with_fine_grained_access(run):
    domain = domain_of(run)
    inputs, plain = domain.inputs, domain.plain_inputs
    assert inputs["encryptAtRest"]["enabled"] and inputs["encryptAtRest"]["kmsKeyId"].endswith("-search-key")
    assert inputs["nodeToNodeEncryption"] == {"enabled": True}
    assert inputs["domainEndpointOptions"] == {
        "enforceHttps": True,
        "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }
    security = plain["advancedSecurityOptions"]
    assert security["enabled"] and security["internalUserDatabaseEnabled"] and not security["anonymousAuthEnabled"]
    assert inputs["advancedSecurityOptions"] == SECRET_MARKER  # the master password is inside
    [statement] = json.loads(inputs["accessPolicies"])["Statement"]
    # Open to this domain's paths only: FGAC authenticates, the VPC and the group gate the network.
    assert statement["Resource"] == [f"arn:aws:es:eu-west-1:123456789012:domain/sd-{run.stack}-search/*"]
    assert statement["Action"] == ["es:ESHttp*"]


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


def test_apps_get_the_url_from_a_secret_and_may_reach_443(run):
    passwords = {r.name: r.state["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")}
    endpoint = domain_of(run).state["endpoint"]
    for name in ("odoo-secrets", "api-gateway-secrets"):
        secret = next(s for s in run.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == name)
        url = urlparse(secret.plain_inputs["stringData"]["search-url"])
        assert (url.scheme, url.hostname, url.port) == ("https", endpoint, 443)
        assert unquote(url.password) == passwords[f"sd-{run.stack}-search-master-password"]
    for deployment in nonempty(run.of_type("kubernetes:apps/v1:Deployment")):
        env = {
            e["name"]: e for c in deployment.inputs["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
        }
        name = deployment.inputs["metadata"]["name"]
        if name in ("odoo", "api-gateway"):
            # As a file from the app's Secret, never as a value in the environment.
            assert "SEARCH_URL" not in env
            assert secret_file(deployment, env["SEARCH_URL_FILE"]["value"]) == (f"{name}-secrets", "search-url")


def secret_file(deployment, path: str) -> tuple[str, str]:
    """(Secret, key) whose file `path` is in the pod: through a secret volume mounted there."""
    spec = deployment.inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for container in spec["containers"]:
        for mount in container.get("volumeMounts", []):
            source = volumes[mount["name"]].get("secret")
            if source and path.startswith(mount["mountPath"] + "/"):
                return source["secretName"], path.removeprefix(mount["mountPath"] + "/")
    raise AssertionError(f"{path} is in no mounted Secret")


def test_network_policies_open_443_to_the_data_tier_for_the_apps_only(run):
    specs = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }

    def ports(name):
        return {p["port"] for rule in specs[name].get("egress", []) for p in rule.get("ports", [])}

    assert 443 in ports("odoo") and 443 in ports("api-gateway")
    assert 443 not in ports("pgbouncer")


def test_the_service_linked_role_is_created_only_when_asked():
    assert not program_run("staging").of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    config = with_section(
        "staging", f"{PROJECT}:search", section("staging", "search") | {"createServiceLinkedRole": True}
    )
    run = run_program("staging", config=config)
    role = run.one("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role.inputs["awsServiceName"] == "opensearchservice.amazonaws.com"
    assert waits_for(run, run.one(DOMAIN), role)


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
    names = {f"sd-{run.stack}-search-{n}" for n in ("red", "yellow", "jvm-pressure", "storage", "latency")}
    assert names <= set(alarms)
    for name in names:
        assert alarms[name].inputs["namespace"] == "AWS/ES"
        assert alarms[name].inputs["dimensions"] == {"DomainName": f"sd-{run.stack}-search", "ClientId": "123456789012"}
