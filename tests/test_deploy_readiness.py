"""What a first `pulumi up` on a real account needs and the friendly mocks used to hide: the
order the engine creates (and destroys) things in, a path and an identity for the Kubernetes
provider, storage Prometheus can bind, names AWS accepts twice, and a first preview in which
every computed output is unknown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from components.compute.karpenter_manifests import ELASTIC_LABEL, STEADY_LABEL
from synth.mock_runtime import UNKNOWN, ProgramRun, RegisteredResource, run_program
from tests.conftest import PROJECT, ROOT, config_problems, program_run, section, section_problems, with_section
from tests.harness.checks import nonempty

RELEASE = "kubernetes:helm.sh/v3:Release"


def edges(run: ProgramRun, resource: RegisteredResource) -> Iterator[str]:
    """URNs a resource waits for: depends_on, the resources its inputs came from, its provider."""
    yield from resource.dependencies
    for urns in resource.property_dependencies.values():
        yield from urns
    if resource.provider:
        yield resource.provider.rsplit("::", 1)[0]


def waits_for(run: ProgramRun, resource: RegisteredResource, target: RegisteredResource) -> bool:
    seen, todo = set(), list(edges(run, resource))
    while todo:
        urn = todo.pop()
        if urn == target.urn:
            return True
        if urn not in seen:
            seen.add(urn)
            todo += edges(run, run.by_urn(urn))
    return False


def releases(run: ProgramRun) -> dict[str, RegisteredResource]:
    return {r.inputs["name"]: r for r in run.of_type(RELEASE)}


def test_every_release_waits_for_system_nodes_coredns_and_the_deployers_access(run):
    node_group = run.one("aws:eks/nodeGroup:NodeGroup")
    coredns = next(a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "coredns")
    access = run.named(f"sd-{run.stack}-deployer", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    for name, release in nonempty(releases(run).items()):
        for target in (node_group, coredns, access):
            assert waits_for(run, release, target), f"{name} does not wait for {target.name}"


def test_the_kubernetes_provider_waits_for_the_deployers_access_entry_and_policy(run):
    [provider] = run.of_type("pulumi:providers:kubernetes")
    deployer = {r.urn for r in run.resources if r.name == f"sd-{run.stack}-deployer"}
    assert len(deployer) == 2 and deployer <= set(provider.dependencies)


def test_the_ingress_waits_for_the_load_balancer_controller_and_its_class(run):
    ingress = run.one("kubernetes:networking.k8s.io/v1:Ingress")
    ingress_class = run.one("kubernetes:networking.k8s.io/v1:IngressClass")
    controller = releases(run)["aws-load-balancer-controller"]
    assert {controller.urn, ingress_class.urn} <= set(ingress.dependencies)


def test_karpenter_resources_wait_for_the_crd_chart(run):
    crds = releases(run)["karpenter-crd"]
    assert crds.urn in releases(run)["karpenter"].dependencies
    custom = [r for r in run.resources if r.type.startswith("kubernetes:karpenter")]
    assert custom and all(waits_for(run, r, crds) for r in custom)


def test_prometheus_claims_the_encrypted_gp3_class(run):
    values = releases(run)["kube-prometheus-stack"].inputs["values"]
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    classes = {c.inputs["metadata"]["name"]: c.inputs for c in run.of_type("kubernetes:storage.k8s.io/v1:StorageClass")}
    gp3 = classes[claim["storageClassName"]]
    assert gp3["provisioner"] == "ebs.csi.aws.com" and gp3["volumeBindingMode"] == "WaitForFirstConsumer"
    assert gp3["parameters"]["type"] == "gp3" and gp3["parameters"]["encrypted"] == "true"
    assert "storageclass.kubernetes.io/is-default-class" not in (gp3["metadata"].get("annotations") or {})


def test_a_pinned_minor_with_auto_upgrades_is_refused():
    [problem] = section_problems("prod", "database", engineVersion="16.8")
    assert problem.startswith(f"{PROJECT}:database: engineVersion '16.8' pins a minor while autoMinorVersionUpgrade")
    assert "set engineVersion to '16' or autoMinorVersionUpgrade to false" in problem
    config = with_section(
        "prod",
        f"{PROJECT}:database",
        section("prod", "database")
        | {
            "engineVersion": "16.8",
            "autoMinorVersionUpgrade": False,
        },
    )
    run = run_program("prod", config=config)
    primary = run.named("sd-prod-db-primary", "aws:rds/instance:Instance").inputs
    assert primary["engineVersion"] == "16.8" and primary["autoMinorVersionUpgrade"] is False


def test_final_snapshot_names_come_from_a_random_id_of_the_stack(prod):
    snapshotting = [
        *(r for r in prod.of_type("aws:rds/instance:Instance") if r.inputs.get("finalSnapshotIdentifier")),
        *prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup"),
    ]
    assert len(snapshotting) == 3  # the primary, and the sessions and cache groups
    random_ids = {r.urn: r for r in prod.of_type("random:index/randomId:RandomId")}
    for resource in snapshotting:
        [source] = resource.property_dependencies["finalSnapshotIdentifier"]
        suffix = random_ids[source].state["hex"]
        assert resource.inputs["finalSnapshotIdentifier"] == f"{resource.name}-final-{suffix}"


def test_the_overflow_pool_serves_the_elastic_tiers_only(prod):
    pools = {p.inputs["metadata"]["name"]: p.inputs for p in prod.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    labels = {name: pool["spec"]["template"]["metadata"]["labels"] for name, pool in pools.items()}
    assert STEADY_LABEL not in labels["burst"] and labels["burst"][ELASTIC_LABEL] == "true"
    selectors = {
        d.inputs["metadata"]["name"]: d.inputs["spec"]["template"]["spec"]["nodeSelector"]
        for d in prod.of_type("kubernetes:apps/v1:Deployment")
    }
    on_burst = {name for name, selector in selectors.items() if selector.items() <= labels["burst"].items()}
    assert on_burst == {"odoo", "api-gateway"}
    for name, selector in selectors.items():
        assert any(selector.items() <= pool.items() for pool in labels.values()), f"{name} fits no pool"


def test_a_stack_needs_a_pool_for_the_steady_workloads():
    karpenter = section("prod", "cluster")["karpenter"]
    pools = [pool | {"serves": "elastic"} for pool in karpenter["nodePools"]]
    cluster = section("prod", "cluster") | {"karpenter": karpenter | {"nodePools": pools}}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:cluster", cluster))
    assert problem.startswith(f"{PROJECT}:cluster.karpenter: nodePools: at least one pool must have serves: all")


def test_prod_pins_the_node_image_and_the_pack_enforces_it(prod):
    [node_class] = prod.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    [term] = node_class.inputs["spec"]["amiSelectorTerms"]
    assert re.fullmatch(r"al2023@v\d{8}", term["alias"])
    prod_pack = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    assert prod_pack["karpenter-pinned-ami"] == {"enforcementLevel": "mandatory", "required": True}


def test_the_deployer_needs_a_network_path():
    delivery = section("prod", "delivery")
    del delivery["runner"]
    [problem] = config_problems(with_section("prod", f"{PROJECT}:delivery", delivery))
    assert problem.startswith(f"{PROJECT}:delivery.runner: the deployer has no network path to the Kubernetes API")


def test_a_public_endpoint_would_bypass_the_runners_peering():
    [problem] = section_problems("prod", "cluster", publicAccessCidrs=["52.18.0.0/24"])
    assert problem.startswith(f"{PROJECT}:cluster.publicAccessCidrs: must be empty with delivery.runner")


def test_the_runner_range_must_not_overlap_the_vpc():
    delivery = section("prod", "delivery")
    delivery["runner"]["cidr"] = "10.10.4.0/24"
    [problem] = config_problems(with_section("prod", f"{PROJECT}:delivery", delivery))
    assert problem.startswith(f"{PROJECT}:delivery.runner.cidr: 10.10.4.0/24 overlaps network.cidr 10.10.0.0/16")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_runner_reaches_the_private_endpoint_on_443_only_through_its_peering(stack):
    """The cluster API admits the environment's runner range, on 443 only; the peering's routes go
    both ways; and the Kubernetes provider waits for them, so the first `up` from the runner works."""
    run = program_run(stack)
    runner = section(stack, "delivery")["runner"]
    vpc = run.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    [rule] = [
        r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-api-from-" in r.name
    ]
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (runner["cidr"], 443, 443)
    assert (
        rule.inputs["securityGroupId"]
        == run.one("aws:eks/cluster:Cluster").state["vpcConfig"]["clusterSecurityGroupId"]
    )
    peering = run.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    assert peering.inputs["peerVpcId"] == runner["vpcId"] and peering.inputs["autoAccept"] is True
    routes = [r.inputs for r in run.of_type("aws:ec2/route:Route") if r.inputs.get("vpcPeeringConnectionId")]
    back = [r for r in routes if r["destinationCidrBlock"] == section(stack, "network")["cidr"]]
    assert [r["routeTableId"] for r in back] == runner["routeTableIds"]
    assert len(routes) - len(back) == section(stack, "network")["azCount"]  # every private table
    provider = run.one("pulumi:providers:kubernetes")
    assert {
        peering.urn,
        *(r.urn for r in run.of_type("aws:ec2/route:Route") if r.inputs.get("vpcPeeringConnectionId")),
    } <= set(provider.dependencies)


def test_documentation_placeholders_are_refused_in_a_real_stack():
    config = with_section("staging", f"{PROJECT}:example", "false")
    problems = config_problems(config)
    assert problems[0].startswith(f"{PROJECT}:cluster.adminPrincipalArns[0] = 'arn:aws:iam::123456789012:role/")
    assert [p.split(" = ")[0] for p in problems[1:]] == [
        f"{PROJECT}:delivery.deployRoleArn",
        f"{PROJECT}:delivery.previewRoleArn",
        f"{PROJECT}:delivery.permissionsBoundaryArn",
        f"{PROJECT}:monitoring.notifications.emails[0]",
        f"{PROJECT}:monitoring.notifications.warningEmails[0]",
    ]
    assert all("mark the stack `example: true`" in p for p in problems)


def test_a_real_stack_with_real_values_loads():
    config = with_section("staging", f"{PROJECT}:example", "false")
    config[f"{PROJECT}:cluster"] = json.dumps(
        section("staging", "cluster") | {"adminPrincipalArns": ["arn:aws:iam::210987654321:role/ops"]}
    )
    delivery = json.dumps(section("staging", "delivery")).replace("123456789012", "210987654321")
    notifications = {"emails": ["oncall@smartdairy.com"], "warningEmails": ["platform@smartdairy.com"]}
    config[f"{PROJECT}:monitoring"] = json.dumps(section("staging", "monitoring") | {"notifications": notifications})
    run = run_program("staging", config=config | {f"{PROJECT}:delivery": delivery})
    assert run.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]["endpointPublicAccess"] is False


@pytest.fixture(scope="module", params=["staging", "prod"])
def first_preview(request) -> ProgramRun:
    return program_run(request.param, preview=True)


def test_first_preview_registers_everything_with_computed_outputs_unknown(first_preview):
    known = program_run(first_preview.stack)
    assert sorted(r.urn for r in first_preview.resources) == sorted(r.urn for r in known.resources)
    policy = next(r for r in first_preview.of_type("aws:iam/rolePolicy:RolePolicy") if "karpenter" in r.name)
    assert policy.inputs["policy"] == UNKNOWN  # needs the queue's ARN
    ingress_record = next(r for r in first_preview.of_type("aws:route53/record:Record") if r.name.endswith("-origin"))
    assert ingress_record.inputs["records"] == [UNKNOWN]  # the ALB hostname comes from the controller


def test_no_output_is_formatted_outside_an_apply(first_preview):
    """An f-string around an Output yields the SDK's warning text instead of a value; it would
    reach AWS as a literal. Both runs are searched for it."""
    for run in (first_preview, program_run(first_preview.stack)):
        for resource in run.resources:
            assert "Calling __str__ on an Output" not in json.dumps(resource.inputs), resource.name


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_whoever_runs_it_plans_the_same_stack(stack, monkeypatch):
    """Clean drift: the deploy role (`up`), the preview role (drift check, pull requests) and a
    person render the same resources, so `preview --refresh --expect-no-changes` of an unchanged
    stack, run as CI runs it, plans nothing (no principal of the program depends on the caller)."""
    from synth import mock_outputs

    def rendered(role: str) -> list[dict]:
        caller = {
            "accountId": mock_outputs.ACCOUNT_ID,
            "arn": f"arn:aws:sts::{mock_outputs.ACCOUNT_ID}:assumed-role/{role}/GitHubActions",
            "userId": "AROASYNTH:GitHubActions",
            "id": mock_outputs.ACCOUNT_ID,
        }
        monkeypatch.setitem(mock_outputs._INVOKES, "aws:index/getCallerIdentity:getCallerIdentity", lambda a, r: caller)
        return [r.to_json() for r in run_program(stack).resources]

    deploy, preview, person = (
        rendered(role) for role in (f"smartdairy-{stack}-deploy", f"smartdairy-{stack}-preview", "AWSReservedSSO_Admin")
    )
    assert deploy == preview == person


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_deploy_session_outlasts_the_longest_possible_up(stack):
    """The deploy roles' sessions and the runners' builds (bootstrap deploySessionHours) last
    longer than the heaviest chain of create timeouts (tools/longest_up.py), with 10 minutes left
    for checkout, install and `make capacity` before the role is assumed."""
    from stacks.schema.delivery import BootstrapConfig
    from tools.longest_up import longest_chain, render

    total, chain = longest_chain([r.to_json() for r in program_run(stack).resources])
    print(f"\n{stack}:\n{render(total, chain)}")
    session = BootstrapConfig.model_fields["deploy_session_hours"].default * 60
    assert total + 10 <= session, f"{stack}: {total:.0f} min of creates do not fit a {session} min session"
    assert {r["type"] for r in chain} >= {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup"}


def test_a_malformed_runner_is_one_line_per_key():
    delivery = section("prod", "delivery")
    delivery["runner"] |= {"routeTableIds": ["rtb-0a1b2c3d4e5f6a7b8", "main"], "vpcId": "default"}
    delivery["previewRoleArn"] = "smartdairy-prod-preview"
    problems = config_problems(with_section("prod", f"{PROJECT}:delivery", delivery))
    assert [p.split(" = ")[0] for p in problems] == [
        f"{PROJECT}:delivery.previewRoleArn",
        f"{PROJECT}:delivery.runner.vpcId",
        f"{PROJECT}:delivery.runner.routeTableIds[1]",
    ]


def test_every_role_carries_the_environments_boundary_and_name(run):
    """The deploy role may create, pass and re-trust only such roles (bootstrap's boundary):
    bounded, and named `sd-<env>-...` (autonamed from the resource name, no explicit name)."""
    delivery = section(run.stack, "delivery")
    roles = run.of_type("aws:iam/role:Role")
    assert len(roles) >= 10
    for role in roles:
        assert role.inputs["permissionsBoundary"] == delivery["permissionsBoundaryArn"], role.name
        assert role.name.startswith(f"sd-{run.stack}-") and "name" not in role.inputs, role.name


def test_a_stack_never_uses_another_environments_identity():
    delivery = section("prod", "delivery")
    delivery["deployRoleArn"] = delivery["deployRoleArn"].replace("prod", "staging")
    [problem] = config_problems(with_section("prod", f"{PROJECT}:delivery", delivery))
    assert problem == (
        f"{PROJECT}:delivery.deployRoleArn: smartdairy-staging-deploy is not environment prod's (bootstrap/ "
        "names it smartdairy-prod-deploy); a stack never uses another environment's identity"
    )
