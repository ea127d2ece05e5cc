"""The monthly estimate (cost/, `make cost`): its arithmetic on small inventories, both stacks
priced completely, the price file's and the assumptions' bad input, the plan's cost delta, the
guards the stacks register, the ceiling policy and the price refresh against a recorded page."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cost import prices
from cost.delta import compare
from cost.estimate import estimate
from cost.load import Load, Point
from cost.prices import PriceBook, PriceFileError
from cost.usage import HOURS_PER_MONTH, Usage
from tests.conftest import PROJECT, config_problems, program_run, with_section
from tools import cost as cost_tool
from tools import plan_diff, price_refresh
from tools.capacity import policy_config

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
H = HOURS_PER_MONTH


def book(**usd: float) -> PriceBook:
    return PriceBook("t", "eu-west-1", "USD", "2026-11-30", "test", dict(usd), dict.fromkeys(usd, "u"))


def point(name: str = "p", pod_vcpu: float = 0.0, at_limits: bool = False, api_rps: float = 0.0) -> Point:
    return Point(name, 0, api_rps, 0.0, pod_vcpu, at_limits)


def priced(resources: list[dict], prices_: PriceBook, *points: Point, usage: Usage | None = None):
    load = Load({p.name: p for p in points or [point()]}, demand=None, allocatable_share=0.5)  # type: ignore[arg-type]
    return estimate(resources, prices_, load, usage or Usage())


def resource(type_: str, name: str, **inputs) -> dict:
    return {"urn": f"urn:{name}", "type": type_, "name": name, "custom": True, "inputs": inputs, "parent": ""}


# --- arithmetic ---------------------------------------------------------------------------------


def test_a_multi_az_primary_and_its_replica_price_hours_storage_and_backups():
    primary = resource(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.t4g.large",
        multiAz=True,
        allocatedStorage=100,
        backupRetentionPeriod=7,
        performanceInsightsRetentionPeriod=7,
    )
    replica = resource("aws:rds/instance:Instance", "replica", instanceClass="db.t4g.large", replicateSourceDb="db")
    prices_ = book(**{"rds/instance/db.t4g.large": 1.0, "rds/gp3-gb-month": 0.1, "rds/backup-gb-month": 0.2})
    result = priced([primary, replica], prices_)
    usd = {urn: v["p"] for urn, v in result.by_resource().items()}
    # 2 x 730 h, 2 x 100 GB, 50 GB of backups (half the storage, beyond the free allowance)
    assert usd["urn:db"] == pytest.approx(2 * H + 2 * 100 * 0.1 + 50 * 0.2)
    # one copy, the primary's storage, no backups of its own
    assert usd["urn:replica"] == pytest.approx(H + 100 * 0.1)
    assert result.complete


def test_gp3_above_its_baseline_and_performance_insights_history_are_priced():
    db = resource(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.r7g.4xlarge",
        allocatedStorage=500,
        iops=15000,
        storageThroughput=600,
        performanceInsightsRetentionPeriod=93,
    )
    keys = {
        "rds/instance/db.r7g.4xlarge": 0.0,
        "rds/gp3-gb-month": 0.0,
        "rds/gp3-iops-month": 0.01,
        "rds/gp3-mbps-month": 0.1,
        "rds/performance-insights-vcpu-month": 1.0,
    }
    # 3,000 IOPS and 100 MB/s above the 12,000 / 500 baseline of 400 GB and more; 16 vCPUs
    assert priced([db], book(**keys)).total("p") == pytest.approx(3000 * 0.01 + 100 * 0.1 + 16)


def test_karpenter_fills_the_heaviest_pool_to_its_limit_then_the_next_at_spot_prices():
    def pool(name: str, weight: int, limit: int, capacity: str) -> dict:
        requirements = [
            {"key": "karpenter.sh/capacity-type", "values": [capacity]},
            {"key": "karpenter.k8s.aws/instance-category", "values": ["c", "m"]},
        ]
        spec = {"weight": weight, "limits": {"cpu": str(limit)}, "template": {"spec": {"requirements": requirements}}}
        return resource("kubernetes:karpenter.sh/v1:NodePool", name, metadata={"name": name}, spec=spec)

    pools = [pool("burst", 10, 100, "spot"), pool("apps", 50, 10, "on-demand")]
    prices_ = book(**{"ec2/vcpu/c": 1.0, "ec2/vcpu/m": 3.0, "ebs/gp3-gb-month": 0.0})
    usage = Usage(spot_price_share=0.5)
    # 10 vCPU of pods at a 0.5 allocatable share: 20 node vCPUs, 10 in apps and 10 in burst
    result = priced(pools, prices_, point(pod_vcpu=10), point("max", math.inf, True), usage=usage)
    by = result.by_resource()
    assert by["urn:apps"]["p"] == pytest.approx(10 * H * 2)  # mean of $1 and $3 per vCPU-hour
    assert by["urn:burst"]["p"] == pytest.approx(10 * H * 2 * 0.5)
    assert by["urn:burst"]["max"] == pytest.approx(100 * H * 2 * 0.5)  # at its limit


def test_unpriced_types_and_missing_prices_are_listed_never_zero():
    inventory = [
        resource("aws:iam/role:Role", "free"),
        resource("aws:mq/broker:Broker", "broker"),
        resource("aws:eks/cluster:Cluster", "cluster"),
    ]
    result = priced(inventory, book())
    assert result.unpriced == {"aws:mq/broker:Broker": ["urn:broker"]}
    assert result.missing == {"eks/cluster-hour": ["urn:cluster"]}
    assert not result.complete and result.total("p") == 0


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_both_stacks_are_priced_completely(stack):
    inventory = [r.to_json() for r in program_run(stack).resources]
    result = cost_tool.stack_estimate(stack, inventory).result
    assert result.unpriced == {} and result.missing == {}
    low, target, high = (result.total(p) for p in ("min", "target", "max"))
    assert 0 < low <= target <= high


# --- bad input ----------------------------------------------------------------------------------


def test_a_price_file_for_another_region_is_refused_by_key(tmp_path):
    data = json.loads(prices.price_file("eu-west-1").read_text())
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({**data, "region": "us-east-1"}))
    with pytest.raises(PriceFileError, match="region: 'us-east-1' is not the stack's region 'eu-west-1'"):
        prices.load(path, "eu-west-1")


def test_a_negative_price_is_refused_by_key(tmp_path):
    data = json.loads(prices.price_file("eu-west-1").read_text())
    data["prices"]["eks/cluster-hour"]["usd"] = -1
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PriceFileError, match=r"prices\.eks/cluster-hour\.usd: -1"):
        prices.load(path, "eu-west-1")


def test_make_cost_refuses_bad_input_in_one_line_each(tmp_path, capsys):
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "resources.json").write_text("[]")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**json.loads(prices.price_file("eu-west-1").read_text()), "region": "us-east-1"}))
    assert cost_tool.main(["staging", "--out", str(tmp_path), "--prices", str(other)]) == 2
    assert cost_tool.main(["staging", "--out", str(tmp_path), "--assume", "api_response_kib=-1"]) == 2
    assert cost_tool.main(["staging", "--out", str(tmp_path), "--assume", "no_such=1"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"error: stack 'staging': {other}: region: 'us-east-1' is not the stack's region 'eu-west-1'",
        "error: stack 'staging': usage assumption api_response_kib: -1.0 is negative",
        "error: stack 'staging': unknown usage assumption 'no_such'",
    ]


@pytest.mark.parametrize("ceiling", [0, -5])
def test_a_ceiling_of_zero_or_less_names_the_key(ceiling):
    config = with_section("prod", f"{PROJECT}:cost", {"monthlyCeilingUsd": ceiling})
    [problem] = config_problems(config)
    assert problem.startswith(f"{PROJECT}:cost.monthlyCeilingUsd")


# --- the plan's cost delta ----------------------------------------------------------------------


def test_one_more_replica_shows_its_monthly_delta_in_the_markdown_plan():
    old = [r.to_json() for r in program_run("prod").resources]
    [replica] = [r for r in old if r["name"] == "sd-prod-db-replica-3"]
    extra = copy.deepcopy(replica) | {"name": "sd-prod-db-replica-4", "urn": replica["urn"].replace("-3", "-4")}
    new = [*old, extra]
    before, after = (cost_tool.stack_estimate("prod", r).result.as_dict() for r in (old, new))
    lines = plan_diff.cost_lines(before, after, markdown=True)
    row = next(line for line in lines if "sd-prod-db-replica-4" in line)
    added = after["resources"][extra["urn"]]["usd"]["target"]
    assert row == (
        f"| | +1 `aws:rds/instance:Instance` `sd-prod-db-replica-4` (db.r7g.4xlarge, Single-AZ) | +${added:,.0f} |"
    )
    assert added > 1000
    assert compare(before, after).summary().startswith("monthly cost: at minimum")


def test_a_base_without_an_estimate_says_so():
    assert plan_diff.cost_lines(None, {"points": []}, markdown=False)[-1].startswith("monthly cost: the base has no")


# --- guards in the stacks -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_stack_has_a_budget_at_its_ceiling_and_an_anomaly_monitor_of_its_environment(stack):
    run = program_run(stack)
    ceiling = json.loads(with_section(stack, "x", None)[f"{PROJECT}:cost"])["monthlyCeilingUsd"]
    budget = run.one("aws:budgets/budget:Budget").inputs
    assert budget["limitAmount"] == f"{ceiling:.2f}" and budget["timeUnit"] == "MONTHLY"
    assert budget["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:Environment${stack}"]}]
    topics = {r.name: r.state["arn"] for r in run.of_type("aws:sns/topic:Topic")}
    routed = {(n["notificationType"], n["threshold"]): n["subscriberSnsTopicArns"] for n in budget["notifications"]}
    assert routed[("ACTUAL", 100)] == [topics[f"sd-{stack}-edge-alarms-topic"]]
    assert routed[("FORECASTED", 100)] == [topics[f"sd-{stack}-edge-warnings-topic"]]
    monitor = json.loads(run.one("aws:costexplorer/anomalyMonitor:AnomalyMonitor").inputs["monitorSpecification"])
    assert monitor["Tags"] == {"Key": "user:Environment", "MatchOptions": None, "Values": [stack]}
    subscription = run.one("aws:costexplorer/anomalySubscription:AnomalySubscription").inputs
    assert subscription["frequency"] == "IMMEDIATE"
    assert subscription["subscribers"] == [{"type": "SNS", "address": topics[f"sd-{stack}-edge-warnings-topic"]}]


@pytest.mark.parametrize("service", ["budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudwatch.amazonaws.com"])
def test_the_billing_topics_admit_the_billing_services_for_this_account_only(prod, service):
    for name in ("sd-prod-edge-warnings", "sd-prod-edge-alarms"):
        policy = json.loads(prod.named(f"{name}-publishers").inputs["policy"])
        [grant] = [s for s in policy["Statement"] if s["Principal"] == {"Service": service}]
        assert grant["Action"] == ["SNS:Publish"]
        assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        key = json.loads(prod.named(f"{name}-key").inputs["policy"])
        [use] = [s for s in key["Statement"] if s.get("Principal") == {"Service": service}]
        assert use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert not [r for r in prod.of_type("aws:sns/topicPolicy:TopicPolicy") if "edge" not in r.name]


# --- the ceiling policy -------------------------------------------------------------------------


def test_the_ceiling_policy_fails_prod_configured_below_its_estimate():
    from tools.policy_check import analyze, capacity_figures

    run = program_run("prod")
    figures = cost_tool.cost_figures("prod", [r.to_json() for r in run.resources])
    assert figures["estimateUsd"]["max"] <= figures["ceilingUsd"]  # as configured: passes
    config = policy_config("prod", capacity_figures("prod")[1], {**figures, "ceilingUsd": 1000})
    [violation] = [d for d in analyze(run, config=config) if d.policy == "cost-ceiling"]
    assert violation.level == "mandatory"
    assert "above cost.monthlyCeilingUsd $1,000" in violation.message


# --- the price refresh --------------------------------------------------------------------------


def test_the_refresh_reads_the_price_list_api_and_keeps_what_it_cannot_query():
    page = json.loads((FIXTURES / "get_products_m7i_large_eu_west_1.json").read_text())
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    filters = {"regionCode": "eu-west-1", **price_refresh.EC2_FILTERS}

    def request(instance_type: str) -> dict:
        terms = {**filters, "instanceType": instance_type}
        return {
            "ServiceCode": "AmazonEC2",
            "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()],
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }

    stubber.add_response("get_products", page, request("m7i.large"))
    stubber.add_response("get_products", page, request("m7i.xlarge"))  # the page's item has 2 vCPUs
    data: dict[str, Any] = {
        "version": "old",
        "region": "eu-west-1",
        "currency": "USD",
        "retrieved": "2026-01-01",
        "source": "s",
        "prices": {
            "ec2/instance/m7i.large": {"usd": 0.1, "unit": "Hrs", "source": "estimate"},
            "ec2/vcpu/m": {"usd": 0.05, "unit": "vCPU-Hrs", "source": "estimate"},
            "waf/web-acl-month": {"usd": 5.0, "unit": "WebACL", "source": "aws-offer"},
        },
    }
    import datetime

    with stubber:
        refreshed, kept = price_refresh.refresh(client, data, datetime.date(2026, 12, 1))
    stubber.assert_no_pending_responses()
    entries = refreshed["prices"]
    assert entries["ec2/instance/m7i.large"] == {
        "usd": 0.1176,
        "unit": "Hrs",
        "source": "price-list-api TESTSKUM7ILARGE1",
    }
    assert entries["ec2/vcpu/m"]["usd"] == pytest.approx(0.1176 / 2)
    assert kept == ["waf/web-acl-month"]
    assert entries["waf/web-acl-month"] == data["prices"]["waf/web-acl-month"]
    assert refreshed["version"] == "2026-12-01.1"


def test_every_price_key_the_stacks_use_is_in_the_file_with_a_source():
    data = json.loads(prices.price_file("eu-west-1").read_text())
    assert {entry["source"] for entry in data["prices"].values()} <= {"aws-offer", "derived", "estimate"}
    assert all(entry["unit"] for entry in data["prices"].values())


# --- what the guards can see --------------------------------------------------------------------


def test_what_aws_creates_for_the_stack_carries_its_environment_tag(prod):
    """The budget and the anomaly monitor filter on Environment: nodes, volumes and the ALB must
    carry it, which the providers' default tags do not reach."""
    node_class = prod.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").inputs["spec"]["tags"]
    assert node_class["Environment"] == "prod" and node_class["karpenter.sh/discovery"] == "sd-prod"
    template = prod.one("aws:ec2/launchTemplate:LaunchTemplate").inputs["tagSpecifications"]
    assert {t["resourceType"]: t["tags"]["Environment"] for t in template} == {"instance": "prod", "volume": "prod"}
    ebs = next(a for a in prod.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-ebs-csi-driver")
    assert json.loads(ebs.inputs["configurationValues"])["controller"]["extraVolumeTags"]["Environment"] == "prod"
    controller = prod.named("sd-prod-alb-controller", "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert controller["defaultTags"]["Environment"] == "prod"


def test_the_alerts_wait_for_the_topic_policies_that_admit_them(prod):
    policies = {r.urn for r in prod.of_type("aws:sns/topicPolicy:TopicPolicy")}
    assert len(policies) == 2
    for type_ in ("aws:budgets/budget:Budget", "aws:costexplorer/anomalySubscription:AnomalySubscription"):
        assert policies <= set(prod.one(type_).dependencies), type_


def test_cloudwatch_publishes_to_the_billing_topics_for_this_accounts_alarms_only(prod):
    policy = json.loads(prod.named("sd-prod-edge-alarms-publishers").inputs["policy"])
    [grant] = [s for s in policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert grant["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:cloudwatch:*:123456789012:alarm:*"}


def test_paging_at_a_warning_percentage_is_refused():
    config = with_section("prod", f"{PROJECT}:cost", {"monthlyCeilingUsd": 1000, "warnAtPercent": [80, 100]})
    [problem] = config_problems(config)
    assert problem.startswith(f"{PROJECT}:cost") and "pageAtPercent 100 is also in warnAtPercent" in problem


@pytest.mark.parametrize(
    ("usd", "text"), [(100.0, "100"), (1234.5, "1234.5"), (123456.7, "123456.7"), (1e6, "1000000")]
)
def test_the_anomaly_threshold_is_written_without_rounding_or_exponent(usd, text):
    from components.observability.cost_guards import _amount

    assert _amount(usd) == text


def test_a_price_refresh_is_named_in_the_delta():
    before = {
        "prices": "eu-west-1 a",
        "points": ["target"],
        "total": {"target": 1.0},
        "components": {},
        "resources": {},
    }
    after = {**before, "prices": "eu-west-1 b", "total": {"target": 2.0}}
    assert (
        compare(before, after).summary()
        == "monthly cost (prices eu-west-1 a -> eu-west-1 b): sized for the target $1 -> $2 (+$1)"
    )


def test_the_ceiling_rule_names_an_incomplete_estimate_and_asks_for_figures():
    from tests.test_policies import RULE

    figures = {
        "estimateUsd": {"max": 10.0},
        "ceilingUsd": 100.0,
        "priceFile": "p",
        "unpriced": ["aws:mq/broker:Broker"],
    }
    [(_, message)] = RULE["cost-ceiling"].check([], {"figures": figures})
    assert message == "the estimate is incomplete, not priced: aws:mq/broker:Broker"
    [(_, missing)] = RULE["cost-ceiling"].check([], {})
    assert "make capacity" in missing


def test_a_scheduled_floor_counts_for_its_hours_share_of_the_month():
    """prod's Odoo: minReplicas 3, a floor recorded at 40 pods (36 plus the tolerance) from
    08:00 to 20:00; the month's mean pods at a load needing n pods, at most maxReplicas (87)."""
    from cost.load import _pods
    from stacks.stack_file import load_stack

    hpa = load_stack("prod")[0].workloads.odoo.hpa
    assert _pods(0, 100, hpa) == pytest.approx((40 * 12 + 3 * 12) / 24)
    assert _pods(2500, 100, hpa) == pytest.approx((40 * 12 + 25 * 12) / 24)  # 25 needed
    assert _pods(9000, 100, hpa) == pytest.approx(87)  # capped either way


def test_a_component_changed_at_one_point_only_says_where():
    """A scheduled floor changes the minimum, not the target: the line says so."""
    usd = {"min": 0.0, "target": 0.0, "max": 0.0}
    component = {"c": usd}
    before = {"points": ["min", "target", "max"], "total": usd, "components": component, "resources": {}}
    after = {**before, "total": {**usd, "min": 100.0}, "components": {"c": {**usd, "min": 100.0}}}
    lines = plan_diff.cost_lines(before, after, markdown=False)
    assert lines[-1] == "  c: +$0/month (min +$100)"
