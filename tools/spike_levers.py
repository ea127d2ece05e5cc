"""The levers that serve the seed's spike, compared in time and money (README "Spikes").

    tools/spike_levers.py prod

For Odoo in the spike scenario (capacity.spikeFromUsers to spikeToUsers in spikeRampS), the
capacity model's time to serve with nodes ready and with node launches, and each lever's monthly
cost from the price file (the pool's per-vCPU price, over the allocatable share):
- the seed's HPA alone (the stack's, without its scheduled floor);
- faster scale-up: no stabilization, +100 % or +20 pods every 15 s;
- warm node headroom: low-priority placeholders for N pods, preempted by new ones;
- image pre-pull: new nodes start with the image (a snapshot of it), no pull;
- the three together;
- the scheduled floor of the stack's config (its busy hours' peak kept running).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capacity.assumptions import Assumptions
from capacity.simulation import WorkloadModel, simulate, step
from capacity.stack import cpu
from cost import prices
from cost.usage import HOURS_PER_MONTH
from stacks.stack_file import load_stack
from tools.capacity import scenarios, workloads

#: Placeholder pods of the warm-headroom lever.
WARM_PODS = 12
#: The faster scale-up lever's policies.
FAST_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15},
        {"type": "Pods", "value": 20, "periodSeconds": 15},
    ],
}


def faster(model: WorkloadModel) -> WorkloadModel:
    hpa = copy.deepcopy(dict(model.hpa))
    hpa["behavior"] = {**hpa["behavior"], "scaleUp": FAST_UP}
    return dataclasses.replace(model, hpa=hpa)


def levers(model: WorkloadModel, a: Assumptions) -> dict[str, tuple[WorkloadModel, Assumptions]]:
    seed = dataclasses.replace(model, scheduled_pods=0.0)
    prepulled = dataclasses.replace(seed, image_pull_s=0.0)
    return {
        "the seed's HPA alone": (seed, a),
        "faster scale-up (15 s steps, +20 pods)": (faster(seed), a),
        f"warm node headroom ({WARM_PODS} pods)": (dataclasses.replace(seed, warm_pods=WARM_PODS), a),
        "image pre-pull": (prepulled, a),
        "the three together": (dataclasses.replace(faster(prepulled), warm_pods=WARM_PODS), a),
        "scheduled floor (the stack's)": (model, a),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    args = parser.parse_args(argv)
    config, _ = load_stack(args.stack)
    a = Assumptions()
    book = prices.load(prices.price_file(config.region), config.region)
    pool = config.cluster.karpenter.node_pools[0]
    vcpu_hour = sum(book.usd(f"ec2/vcpu/{c}") for c in pool.instance_categories) / len(pool.instance_categories)
    odoo = config.workloads.odoo
    pod_vcpu = cpu(odoo.resources.cpu_request) / a.node_allocatable_share
    model, per_user = workloads(config, a)["odoo"]
    before, after, ramp = scenarios(config)["spike"]
    floor = odoo.hpa.scheduled_floor
    costs = {
        "warm": WARM_PODS * pod_vcpu * vcpu_hour * HOURS_PER_MONTH,
        "floor": (floor.recorded - odoo.hpa.min_replicas) * pod_vcpu * vcpu_hour * floor.hours * 365 / 12
        if floor
        else 0.0,
    }
    scenario = f"{args.stack}, Odoo, spike {before:,.0f} -> {after:,.0f} users"
    print(f"| lever ({scenario}) | nodes ready | node launches | USD a month |")
    print("| --- | ---: | ---: | ---: |")
    for name, (variant, assumptions) in levers(model, a).items():
        times = [
            simulate(variant, step(before, after, per_user, ramp), assumptions, node_launches=launches).covered_after()
            for launches in (False, True)
        ]
        cells = ["never" if t is None else f"{t:.0f} s" for t in times]
        usd = costs["floor"] if "floor" in name else costs["warm"] if ("warm" in name or "together" in name) else 0.0
        print(f"| {name} | {cells[0]} | {cells[1]} | {usd:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
