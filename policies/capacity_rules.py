"""Capacity rules: the seed's claims against the capacity model and HPA simulation.

The pack cannot import the program, so the figures arrive as policy config: `make capacity
STACK=<name>` writes build/<stack>/policy-config.json (the policy set of its environment plus the
figures), and the offline gate computes them the same way. Without figures the rules say so.
"""

from __future__ import annotations

import functools

from registry import RECOMMENDATION, stack_rule

NO_FIGURES = "no figures: pass build/<stack>/policy-config.json from `make capacity` as --policy-pack-config"


def on_figures(check):
    """The rule's check run on the figures of its config, or the message saying how to get them."""

    @functools.wraps(check)
    def run(resources, config):
        figures = config.get("figures")
        if not figures:
            yield "", NO_FIGURES
            return
        yield from (("", message) for message in check(figures))

    return run


@stack_rule("capacity-users", kind=RECOMMENDATION, per_stack=True)
@on_figures
def users(f):
    """The stack carries its target users with the configured headroom (the seed: 10,000 users)."""
    if f["headroom"] < f["requiredHeadroom"]:
        yield (
            f"{f['usersSupported']:,} users fit (bottleneck: {f['bottleneck']}), "
            f"{f['headroom']:+.0%} at {f['targetUsers']:,}; capacity.headroom requires "
            f"{f['requiredHeadroom']:+.0%}: raise the {f['bottleneck']} tier"
        )


@stack_rule("capacity-scale-out", kind=RECOMMENDATION, per_stack=True)
@on_figures
def scale_out(f):
    """A 2x load step is served within the configured time, even when nodes must be launched (the
    seed: 2x in under 5 minutes), and so is the seed's spike (1,000 to 5,000 users in 30 s), both
    in the busy hours (with any scheduled floor in force)."""
    for workload, times in f["scaleOut"].items():
        for label, seconds in times.items():
            if seconds is None or seconds > f["scaleOutLimitS"]:
                yield (
                    f"{workload}: a 2x step is served {_took(seconds)} ({label}); capacity.scaleOutS allows "
                    f"{f['scaleOutLimitS']} s: raise maxReplicas or the scale-up policies"
                )
    keys = {"nodes ready": "spikeServedS", "node launches": "spikeServedWithLaunchesS"}
    for workload, times in f.get("spike", {}).items():
        for label, seconds in times.items():
            limit = f["spikeLimitS"][label]
            if seconds is None or seconds > limit:
                yield (
                    f"{workload}: the spike to {f['spikeUsers'][1]:,} users is served {_took(seconds)} ({label}); "
                    f"capacity.{keys[label]} allows {limit} s: a scheduled floor for the busy hours, or faster "
                    "scale-up"
                )


def _took(seconds: float | None) -> str:
    return "never" if seconds is None else f"after {seconds:.0f} s"


@stack_rule("capacity-az-loss", kind=RECOMMENDATION, per_stack=True)
@on_figures
def az_loss(f):
    """Losing one availability zone leaves the configured share of capacity (66 %: two of three
    zones)."""
    if f["azLossResidual"] < f["requiredAzLossResidual"]:
        weakest = min(
            (t for t in f["tiers"].values() if t["users"] is not None),
            key=lambda t: t["users"] * t["azLossShare"],
        )
        yield (
            f"after losing one zone {f['usersAfterAzLoss']:,} users fit, {f['azLossResidual']:.0%} of "
            f"{f['usersSupported']:,}; capacity.azLossResidual requires {f['requiredAzLossResidual']:.0%} "
            f"(weakest: {weakest['detail']})"
        )
