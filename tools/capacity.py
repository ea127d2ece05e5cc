"""`make capacity STACK=<name>`: can the stack carry its target users, how fast does it double,
what is left after losing a zone?

Reads the stack's validated config (Pulumi.<stack>.yaml), builds the capacity model and the HPA
simulation (capacity/) on the HPA specs the program renders, prints the tables, and writes to
build/<stack>/capacity/: capacity.json, one plot per workload and scenario, and
build/<stack>/policy-config.json (the policy set of the stack's environment plus these figures), which the
capacity policies read: `pulumi preview --policy-pack policies --policy-pack-config
build/<stack>/policy-config.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capacity.assumptions import Assumptions
from capacity.demand import user_demand
from capacity.model import CapacityReport, evaluate
from capacity.simulation import Trace, WorkloadModel, simulate, step
from capacity.stack import supply
from components.k8s.hpa import hpa_spec
from cost.per_user import cost_per_users, curve
from cost.per_user import plot as plot_cost
from stacks.loader import ConfigError
from stacks.schema import PlatformConfig
from stacks.schema.environment import policy_set
from stacks.stack_file import load_stack
from tools.cost import parse_assumptions, stack_estimate

ROOT = Path(__file__).resolve().parent.parent
CAPACITY_POLICIES = ("capacity-users", "capacity-scale-out", "capacity-az-loss")
COST_POLICY = "cost-ceiling"
#: The pack's rule that a policy set is used only on stacks of the environment it was built for.
ENVIRONMENT_POLICY = "policy-set-matches-environment"


def workloads(config: PlatformConfig, a: Assumptions) -> dict[str, tuple[WorkloadModel, float]]:
    """name -> (the workload as the HPA sees it, requests per second per user)."""
    d = user_demand(a)
    odoo, gateway = config.workloads.odoo, config.workloads.gateway

    def rendered(section: Any, selector: Mapping[str, str], workload: str) -> dict:
        spec = hpa_spec(section, selector, workload)
        return {
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": list(spec.metrics),
            "behavior": dict(spec.behavior),
        }

    return {
        "odoo": (
            WorkloadModel(
                "odoo",
                rendered(odoo.hpa, {}, "odoo"),
                odoo.workers / a.odoo_request_s,
                a.pod_ready_s["odoo"],
                a.image_pull_s["odoo"],
                _floor(odoo.hpa),
            ),
            d.odoo,
        ),
        "api-gateway": (
            WorkloadModel(
                "api-gateway",
                rendered(gateway.hpa, {"service": "api-gateway"}, "api-gateway"),
                a.gateway_pod_rps,
                a.pod_ready_s["api-gateway"],
                a.image_pull_s["api-gateway"],
                _floor(gateway.hpa),
            ),
            d.api,
        ),
    }


def _floor(hpa: Any) -> float:
    """The pods a scheduled floor keeps during the busy hours, when the scenarios run."""
    return float(hpa.scheduled_floor.recorded) if hpa.scheduled_floor else 0.0


def scenarios(config: PlatformConfig) -> dict[str, tuple[float, float, float]]:
    """A 2x step to the target, and the seed's spike (1,000 to 5,000 users in 30 s by default)."""
    c = config.capacity
    return {
        "2x": (c.target_users / 2, c.target_users, 0.0),
        "spike": (c.spike_from_users, c.spike_to_users, c.spike_ramp_s),
    }


def simulations(config: PlatformConfig, a: Assumptions) -> dict[str, dict[str, dict[str, Trace]]]:
    """workload -> scenario -> "nodes ready" | "node launches" -> trace."""
    return {
        name: {
            scenario: {
                label: simulate(model, step(before, after, per_user, ramp), a, node_launches=launches)
                for label, launches in (("nodes ready", False), ("node launches", True))
            }
            for scenario, (before, after, ramp) in scenarios(config).items()
        }
        for name, (model, per_user) in workloads(config, a).items()
    }


def with_baselines(
    config: PlatformConfig, a: Assumptions, traces: Mapping[str, Mapping[str, Mapping[str, Trace]]]
) -> dict[str, dict[str, dict[str, Trace]]]:
    """The traces to plot: a workload with a scheduled floor also shows its spike without it
    (the seed's HPA alone), before and after in one figure."""
    plotted = {name: {s: dict(by_label) for s, by_label in by_scenario.items()} for name, by_scenario in traces.items()}
    before, after, ramp = scenarios(config)["spike"]
    for name, (model, per_user) in workloads(config, a).items():
        if model.scheduled_pods:
            alone = dataclasses.replace(model, scheduled_pods=0.0)
            for label, launches in (("nodes ready", False), ("node launches", True)):
                trace = simulate(alone, step(before, after, per_user, ramp), a, node_launches=launches)
                plotted[name]["spike"][f"{label}, without the floor"] = trace
    return plotted


def figures(
    config: PlatformConfig,
    a: Assumptions | None = None,
    traces: Mapping[str, Mapping[str, Mapping[str, Trace]]] | None = None,
    report: CapacityReport | None = None,
) -> dict[str, Any]:
    """What the capacity policies check, with the limits from the stack's `capacity` section.
    `traces` and `report`, when the caller already has them, are not computed again."""
    a = a or Assumptions()
    report = report or evaluate(supply(config, a), config.capacity.target_users, a)
    traces = traces or simulations(config, a)
    return {
        **report.as_dict(),
        "requiredHeadroom": config.capacity.headroom,
        "requiredAzLossResidual": config.capacity.az_loss_residual,
        "scaleOutLimitS": config.capacity.scale_out_s,
        "spikeUsers": [config.capacity.spike_from_users, config.capacity.spike_to_users],
        "spikeLimitS": {
            "nodes ready": config.capacity.spike_served_s,
            "node launches": config.capacity.spike_served_with_launches_s,
        },
        "scaleOut": {
            name: {label: trace.covered_after() for label, trace in by_label.items()}
            for name, by_scenario in traces.items()
            for scenario, by_label in by_scenario.items()
            if scenario == "2x"
        },
        "spike": {
            name: {label: trace.covered_after() for label, trace in by_scenario["spike"].items()}
            for name, by_scenario in traces.items()
        },
    }


def policy_config(
    environment: str, capacity: Mapping[str, Any], cost: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The policy set of the stack's environment (the strictest for an environment without one),
    the figures handed to each capacity policy and to the cost policy, and the environment the set
    was built for, which `policy-set-matches-environment` checks against the stack's own
    Environment tags."""
    config = json.loads(policy_set(environment).read_text())
    handed = {name: capacity for name in CAPACITY_POLICIES} | ({COST_POLICY: cost} if cost else {})
    for name, figures_ in handed.items():
        entry = config.get(name, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        config[name] = {**entry, "figures": dict(figures_)}
    config[ENVIRONMENT_POLICY] = {**config.get(ENVIRONMENT_POLICY, {}), "environment": environment}
    return config


def render(report: CapacityReport, figures_: Mapping[str, Any]) -> str:
    lines = [f"{'tier':<20} {'users':>12} {'after AZ loss':>14}  detail"]
    for t in report.tiers:
        users = "elastic" if t.users == float("inf") else f"{t.users:,.0f}"
        after = "elastic" if t.users == float("inf") else f"{t.users_after_az_loss:,.0f}"
        lines.append(f"{t.name:<20} {users:>12} {after:>14}  {t.detail}")
    lines += [
        "",
        f"per user: {report.demand.api:.2f} API req/s ({report.demand.requests_per_iteration:.2f} requests "
        f"every {report.demand.iteration_s:.2f} s), {report.demand.odoo:.2f} reach Odoo",
        f"supported: {report.users_supported:,.0f} users (bottleneck: {report.bottleneck.name}); "
        f"headroom at {report.target_users:,}: {report.headroom:+.0%} (required {figures_['requiredHeadroom']:+.0%})",
        f"after losing one AZ: {report.users_after_az_loss:,.0f} users, {report.az_loss_residual:.0%} "
        f"(required {figures_['requiredAzLossResidual']:.0%})",
        "",
        f"{'scale-out: time to serve':<28} {'nodes ready':>12} {'node launches':>14}",
    ]
    spike = f"spike to {figures_['spikeUsers'][1]:,}"
    for scenario, key in (("2x", "scaleOut"), (spike, "spike")):
        for name, times in figures_[key].items():
            cells = [("never" if s is None else f"{s:.0f} s") for s in times.values()]
            lines.append(f"{name + ' ' + scenario:<28} {cells[0]:>12} {cells[1]:>14}")
    limits = figures_["spikeLimitS"]
    lines.append(
        f"limits: 2x {figures_['scaleOutLimitS']} s; spike {limits['nodes ready']} s with nodes ready, "
        f"{limits['node launches']} s with node launches"
    )
    return "\n".join(lines)


def plot(traces: Mapping[str, Mapping[str, Mapping[str, Trace]]], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, by_scenario in traces.items():
        for scenario, by_label in by_scenario.items():
            fig, (load, pods) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
            for label, trace in by_label.items():
                load.plot(trace.time, trace.capacity, label=f"capacity ({label})")
                pods.plot(trace.time, trace.ready, label=f"ready pods ({label})")
                pods.plot(trace.time, trace.replicas, linestyle=":", label=f"HPA replicas ({label})")
            first = next(iter(by_label.values()))
            load.plot(first.time, first.demand, color="black", label="demand")
            load.set_ylabel("requests/s")
            pods.set_ylabel("pods")
            pods.set_xlabel("seconds after the load step")
            load.set_title(f"{name}: {scenario} load step")
            load.legend(fontsize=7)
            pods.legend(fontsize=7)
            path = directory / f"{name}-{scenario}.png"
            fig.tight_layout()
            fig.savefig(path, dpi=80)
            plt.close(fig)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name; reads Pulumi.<stack>.yaml")
    parser.add_argument("--assume", action="append", default=[], metavar="NAME=VALUE", help="override an assumption")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/<stack>)")
    parser.add_argument("--resources", type=Path, help="inventory to price (default build/<stack>/resources.json)")
    args = parser.parse_args(argv)
    inventory = args.resources or ROOT / "build" / args.stack / "resources.json"
    try:
        config, _ = load_stack(args.stack)
        overrides = parse_assumptions(args.assume)
        a = Assumptions().with_overrides(overrides)
        resources = json.loads(inventory.read_text())
        priced = stack_estimate(args.stack, resources, a=a)
    except FileNotFoundError as exc:
        print(
            f"error: stack {args.stack!r}: {exc.filename}: not found (make synth STACK={args.stack})", file=sys.stderr
        )
        return 2
    except (ConfigError, ValueError) as exc:
        print(f"error: stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / args.stack
    directory = out / "capacity"
    directory.mkdir(parents=True, exist_ok=True)
    traces = simulations(config, a)
    report = evaluate(supply(config, a), config.capacity.target_users, a)
    found = figures(config, a, traces, report)
    per_users = cost_per_users(priced.result, config, report.bottleneck.name)
    print(render(report, found))
    print(per_users.render())
    found_cost = {**priced.figures(), "perUsers": per_users.as_dict()}
    (directory / "capacity.json").write_text(json.dumps(found, indent=2) + "\n")
    (directory / "cost-per-user.json").write_text(json.dumps(found_cost, indent=2) + "\n")
    config_out = policy_config(config.environment, found, found_cost)
    (out / "policy-config.json").write_text(json.dumps(config_out, indent=2) + "\n")
    users = [report.users_supported * i / 40 for i in range(41)]
    totals = curve(config, resources, priced.book, priced.usage, a, users)
    cost_plot = plot_cost(args.stack, users, totals, config.capacity.target_users, directory / "cost-vs-users.png")
    for path in [*plot(with_baselines(config, a, traces), directory), cost_plot]:
        print(f"wrote {path.relative_to(out.parent.parent) if out.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
