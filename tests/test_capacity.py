"""The capacity model and the HPA simulation: pinned to the controller's documented behaviour,
moved in the right direction by each input, and driving the capacity policies."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from capacity.assumptions import Assumptions
from capacity.demand import user_demand
from capacity.hpa import HpaController, PodSample
from capacity.model import evaluate, surviving
from capacity.simulation import WorkloadModel, simulate, step
from capacity.stack import supply, vcpus
from stacks.stack_file import load_stack
from tests.conftest import program_run
from tests.harness.checks import nonempty
from tests.test_policies import RULE
from tools import capacity as capacity_tool

SEED_ODOO_BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 60,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 60},
            {"type": "Pods", "value": 4, "periodSeconds": 60},
        ],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    },
}


def cpu_hpa(behavior=SEED_ODOO_BEHAVIOR, target=70, maximum=100) -> HpaController:
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
    }
    return HpaController({"minReplicas": 3, "maxReplicas": maximum, "metrics": [metric], "behavior": behavior})


def pods(count: int, cpu: float | None, ready: bool = True) -> list[PodSample]:
    return [PodSample(ready=ready, utilization={"cpu": cpu}, custom={}) for _ in range(count)]


# --- the controller (pkg/controller/podautoscaler) -------------------------------------------


def test_no_scaling_inside_the_tolerance():
    hpa = cpu_hpa()
    assert hpa.reconcile(0, 10, pods(10, 76.0), {}) == 10  # 76 / 70 = 1.086: within 10 %
    assert hpa.reconcile(15, 10, pods(10, 64.0), {}) == 10  # 0.914
    assert cpu_hpa().reconcile(0, 10, pods(10, 78.0), {}) == 12  # 1.114: ceil(11.14)


def test_the_seeds_odoo_policy_adds_four_then_doubles_per_minute():
    hpa = cpu_hpa()
    hot = 700.0  # 10x the target: the policies, not the metric, limit the step
    assert hpa.reconcile(0, 3, pods(3, hot), {}) == 7  # max(3 + 4, 3 x 2)
    for t in (15, 30, 45):  # the period that began at t=0 already added 4
        assert hpa.reconcile(t, 7, pods(7, hot), {}) == 7
    assert hpa.reconcile(60, 7, pods(7, hot), {}) == 14  # max(7 + 4, 7 x 2)


def test_scale_up_stabilization_takes_the_lowest_recommendation_of_the_window():
    hpa = cpu_hpa()
    assert hpa.reconcile(0, 10, pods(10, 70.0), {}) == 10  # the load is still normal
    for t in (15, 30, 45):  # load doubled at t=15, but t=0's "10" is inside the 60 s window
        assert hpa.reconcile(t, 10, pods(10, 140.0), {}) == 10
    assert hpa.reconcile(60, 10, pods(10, 140.0), {}) == 20  # t=0 is no longer after now - 60 s


def test_scale_down_waits_five_minutes_then_sheds_ten_percent_a_minute():
    hpa = cpu_hpa()
    assert hpa.reconcile(0, 20, pods(20, 70.0), {}) == 20
    for t in range(15, 300, 15):
        assert hpa.reconcile(t, 20, pods(20, 7.0), {}) == 20  # t=0's "20" is within 300 s
    assert hpa.reconcile(315, 20, pods(20, 7.0), {}) == 18  # int(20 x 0.9)


def test_unready_pods_count_as_idle_on_a_scale_up():
    # 4 hot Ready pods and 4 starting: (4 x 100 + 4 x 0) / 8 = 50 % < 70 %: no further scale-up.
    hpa = cpu_hpa()
    assert hpa.reconcile(0, 8, pods(4, 100.0) + pods(4, 100.0, ready=False), {}) == 8


def test_select_policy_min_takes_the_smaller_step():
    behavior = json.loads(json.dumps(SEED_ODOO_BEHAVIOR))
    behavior["scaleUp"]["selectPolicy"] = "Min"
    behavior["scaleUp"]["stabilizationWindowSeconds"] = 0
    assert cpu_hpa(behavior).reconcile(0, 10, pods(10, 700.0), {}) == 14  # min(10 + 4, 20)


def test_external_metrics_scale_the_ready_pods_by_the_ratio():
    metric = {
        "type": "External",
        "external": {"metric": {"name": "response_latency_p95"}, "target": {"type": "Value", "value": "300m"}},
    }
    hpa = HpaController(
        {
            "minReplicas": 2,
            "maxReplicas": 15,
            "metrics": [metric],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0}},
        }
    )
    assert hpa.reconcile(0, 4, pods(4, None), {"response_latency_p95": 0.45}) == 6  # ceil(1.5 x 4)


def test_max_replicas_caps_everything():
    assert cpu_hpa(maximum=5).reconcile(0, 3, pods(3, 700.0), {}) == 5


# --- demand and the model ----------------------------------------------------------------------


def test_the_seeds_journey_is_about_4_5_requests_every_2_7_seconds():
    d = user_demand(Assumptions())
    assert d.requests_per_iteration == pytest.approx(0.7 + 3 + 0.7 * 1.11)
    assert 2.6 < d.iteration_s < 2.8
    assert 16_000 < d.api * 10_000 < 17_500  # the estimate: ~16k req/s at 10K users


def test_a_better_cache_sends_less_to_odoo_and_search_but_not_less_to_the_gateway():
    low, high = user_demand(Assumptions(api_cache_hit_ratio=0.6)), user_demand(Assumptions(api_cache_hit_ratio=0.9))
    assert high.odoo < low.odoo and high.search == pytest.approx(low.search / 4)
    assert high.api == low.api


@pytest.fixture(scope="module")
def prod_config():
    return load_stack("prod")[0]


def test_twice_the_odoo_pods_carry_twice_the_users(prod_config):
    a = Assumptions()
    base = supply(prod_config, a)
    doubled = type(base)(**{**base.__dict__, "odoo": type(base.odoo)(174, base.odoo.pod_rps, base.odoo.cpu_request)})
    users = {t.name: t.users for t in evaluate(base, 10_000, a).tiers}
    more = {t.name: t.users for t in evaluate(doubled, 10_000, a).tiers}
    assert more["odoo"] == pytest.approx(2 * users["odoo"])
    # Nodes are counted per user served, whatever the HPA may reach; other tiers do not move.
    assert more["nodes"] == users["nodes"] and more["api-gateway"] == users["api-gateway"]


def test_slower_odoo_requests_shrink_the_odoo_tier_in_proportion(prod_config):
    def odoo_users(a: Assumptions) -> float:
        return next(t.users for t in evaluate(supply(prod_config, a), 10_000, a).tiers if t.name == "odoo")

    assert odoo_users(Assumptions(odoo_request_s=0.08)) == pytest.approx(
        odoo_users(Assumptions(odoo_request_s=0.04)) / 2
    )


@pytest.mark.parametrize(
    ("count", "zones", "left"), [(3, 3, 2), (2, 3, 1), (4, 3, 2), (87, 3, 58), (1, 1, 0), (5, 2, 2)]
)
def test_a_zone_loss_takes_the_fullest_zone(count, zones, left):
    assert surviving(count, zones) == left


@pytest.mark.parametrize(
    ("instance", "cores"),
    [("db.r7g.8xlarge", 32), ("cache.r7g.large", 2), ("r7g.xlarge.search", 4), ("db.t4g.medium", 2)],
)
def test_instance_sizes_map_to_vcpus(instance, cores):
    assert vcpus(instance) == cores


def test_prod_carries_ten_thousand_users_with_headroom_and_survives_a_zone(prod_config):
    report = evaluate(supply(prod_config, Assumptions()), prod_config.capacity.target_users, Assumptions())
    assert report.users_supported >= 10_000 * (1 + prod_config.capacity.headroom)
    assert report.az_loss_residual >= prod_config.capacity.az_loss_residual
    assert {t.name for t in report.tiers} >= {"odoo", "api-gateway", "rds-primary", "redis-sessions", "opensearch"}


# --- the simulation -----------------------------------------------------------------------------


def odoo_model(config) -> tuple[WorkloadModel, float]:
    return capacity_tool.workloads(config, Assumptions())["odoo"]


def test_a_2x_step_is_served_later_when_nodes_must_launch(prod_config):
    model, per_user = odoo_model(prod_config)
    demand = step(5_000, 10_000, per_user)
    ready = simulate(model, demand, Assumptions(), node_launches=False).covered_after()
    launched = simulate(model, demand, Assumptions(), node_launches=True).covered_after()
    a = Assumptions()
    assert ready is not None and launched is not None
    # Nothing is served before a metric sees the load and a pod starts; a node adds its launch.
    assert ready >= a.scrape_interval_s + model.ready_s
    assert launched - ready == pytest.approx(a.node_launch_s + model.image_pull_s, abs=a.hpa_sync_s)


def test_a_step_beyond_max_replicas_is_never_served(prod_config):
    model, per_user = odoo_model(prod_config)
    capped = WorkloadModel(
        model.name, {**model.hpa, "maxReplicas": 20}, model.pod_rps, model.ready_s, model.image_pull_s
    )
    trace = simulate(capped, step(5_000, 10_000, per_user), Assumptions(), node_launches=False)
    assert trace.covered_after() is None and max(trace.replicas) == 20


def test_a_step_within_capacity_needs_no_new_pods():
    model = WorkloadModel("w", {"minReplicas": 10, "maxReplicas": 10, "metrics": [], "behavior": {}}, 100.0, 10.0, 5.0)
    assert simulate(model, step(1, 2, 100.0), Assumptions(), node_launches=True, duration_s=60).covered_after() == 0.0


# --- the capacity policies ----------------------------------------------------------------------


_FIGURES: dict[str, dict] = {}


def _figures(config) -> dict:
    """The figures of a config, once per config (each is a dozen simulations)."""
    key = config.model_dump_json()
    if key not in _FIGURES:
        _FIGURES[key] = capacity_tool.figures(config)
    return _FIGURES[key]


def capacity_findings(config) -> dict[str, list[str]]:
    figures = _figures(config)
    return {
        name: [message for _, message in RULE[name].check([], {"required": True, "figures": figures})]
        for name in capacity_tool.CAPACITY_POLICIES
    }


def test_prod_passes_the_capacity_policies(prod_config):
    assert capacity_findings(prod_config) == {name: [] for name in capacity_tool.CAPACITY_POLICIES}


def test_the_seeds_odoo_maximum_of_five_cannot_reach_ten_thousand_users(prod_config):
    hpa = prod_config.workloads.odoo.hpa.model_copy(update={"max_replicas": 5})
    odoo = prod_config.workloads.odoo.model_copy(update={"hpa": hpa})
    config = prod_config.model_copy(update={"workloads": prod_config.workloads.model_copy(update={"odoo": odoo})})
    found = capacity_findings(config)
    [users] = found["capacity-users"]
    # 5 pods x 100 req/s over 0.70 Odoo req/s per user.
    assert users.startswith("712 users fit (bottleneck: odoo), -93% at 10,000") and "raise the odoo tier" in users
    assert any(m.startswith("odoo: a 2x step is served never") for m in found["capacity-scale-out"])


def test_without_figures_the_policies_say_how_to_get_them():
    for name in nonempty(capacity_tool.CAPACITY_POLICIES):
        [(_, message)] = RULE[name].check([], {"required": True})
        assert "make capacity" in message


def test_make_capacity_writes_figures_plots_and_the_policy_config(tmp_path, capsys):
    inventory = tmp_path / "resources.json"
    inventory.write_text(json.dumps([r.to_json() for r in program_run("staging").resources]))
    assert capacity_tool.main(["staging", "--out", str(tmp_path), "--resources", str(inventory)]) == 0
    out = capsys.readouterr().out
    assert "bottleneck" in out and "scale-out" in out
    figures = json.loads((tmp_path / "capacity" / "capacity.json").read_text())
    assert figures["targetUsers"] == 400 and not math.isnan(figures["headroom"])
    assert sorted(p.name for p in (tmp_path / "capacity").glob("*.png")) == [
        "api-gateway-2x.png",
        "api-gateway-spike.png",
        "cost-vs-users.png",
        "odoo-2x.png",
        "odoo-spike.png",
    ]
    cost = json.loads((tmp_path / "capacity" / "cost-per-user.json").read_text())
    per_users = cost["perUsers"]
    assert per_users["per1000UsersUsd"] == pytest.approx(per_users["monthlyUsd"] / 0.4, abs=0.01)
    assert per_users["monthlyUsd"] == cost["estimateUsd"]["target"]
    assert 0 < per_users["bottleneckShare"] < 1 and per_users["bottleneck"] == figures["bottleneck"]
    assert f"${per_users['per1000UsersUsd']:,.0f} per 1,000 users" in out
    policy = json.loads((tmp_path / "policy-config.json").read_text())
    assert policy["capacity-users"]["figures"] == figures
    assert policy["cost-ceiling"]["figures"] == cost
    assert policy["rds-backups"]["enforcementLevel"] == "mandatory"  # the stack's own pack config kept


def test_two_read_replicas_lose_too_much_with_a_zone(prod_config):
    database = prod_config.database.model_copy(update={"replicas": 2})
    [message] = capacity_findings(prod_config.model_copy(update={"database": database}))["capacity-az-loss"]
    assert "capacity.azLossResidual requires 66%" in message and "2 x 16 vCPU" in message


# --- spikes -------------------------------------------------------------------------------------


def test_an_external_average_value_asks_for_its_value_in_pods():
    """GetExternalPerPodMetricReplicas: ceil(value / averageValue), unless within tolerance."""
    floor = {
        "type": "External",
        "external": {"metric": {"name": "floor"}, "target": {"type": "AverageValue", "averageValue": "1"}},
    }
    hpa = HpaController({"minReplicas": 3, "maxReplicas": 50, "metrics": [floor]})
    assert hpa._proposal(floor, 3, [], {"floor": 36.0}) == 36
    assert hpa._proposal(floor, 36, [], {"floor": 37.0}) == 36  # within 10 %
    assert hpa._proposal(floor, 36, [], {"floor": 0.0}) == 0  # outside the hours: other metrics decide


def test_prods_floor_serves_the_seeds_spike_within_both_limits(prod_config):
    spike = _figures(prod_config)["spike"]
    assert spike["odoo"] == {"nodes ready": 0.0, "node launches": 0.0}
    assert spike["api-gateway"]["nodes ready"] <= 120 and spike["api-gateway"]["node launches"] <= 180


def test_without_its_floor_prod_fails_the_spike_and_the_policy_says_so(prod_config):
    odoo = prod_config.workloads.odoo
    hpa = odoo.hpa.model_copy(update={"scheduled_floor": None})
    workloads_ = prod_config.workloads.model_copy(update={"odoo": odoo.model_copy(update={"hpa": hpa})})
    messages = capacity_findings(prod_config.model_copy(update={"workloads": workloads_}))["capacity-scale-out"]
    assert messages == [
        "odoo: the spike to 5,000 users is served after 430 s (nodes ready); capacity.spikeServedS allows 120 s: "
        "a scheduled floor for the busy hours, or faster scale-up",
        "odoo: the spike to 5,000 users is served after 845 s (node launches); capacity.spikeServedWithLaunchesS "
        "allows 180 s: a scheduled floor for the busy hours, or faster scale-up",
    ]


def test_warm_headroom_spares_the_first_pods_a_node_launch(prod_config):
    a = Assumptions()
    model, per_user = capacity_tool.workloads(prod_config, a)["odoo"]
    alone = dataclasses.replace(model, scheduled_pods=0.0)
    demand = step(1000, 5000, per_user, 30)
    cold = simulate(alone, demand, a, node_launches=True).covered_after()
    warm = simulate(dataclasses.replace(alone, warm_pods=12), demand, a, node_launches=True).covered_after()
    assert warm is not None and cold is not None and warm < cold


@pytest.mark.parametrize(
    ("floor", "problem"),
    [
        ({"replicas": 2, "fromHour": 8, "toHour": 20}, "scheduledFloor.replicas (2) must be above minReplicas (3)"),
        ({"replicas": 90, "fromHour": 8, "toHour": 20}, "and at most maxReplicas (87)"),
        ({"replicas": 36, "fromHour": 20, "toHour": 8}, "fromHour (20) must be before toHour (8)"),
    ],
)
def test_a_floor_outside_the_hpas_bounds_or_hours_is_refused(floor, problem):
    from tests.conftest import PROJECT, config_problems, section, with_section

    workloads_ = section("prod", "workloads")
    workloads_["odoo"]["hpa"] = {"maxReplicas": 87, "scheduledFloor": floor}
    [message] = config_problems(with_section("prod", f"{PROJECT}:workloads", workloads_))
    assert message.startswith(f"{PROJECT}:workloads.odoo.hpa") and problem in message
