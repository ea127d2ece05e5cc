"""Cost rules: the stack's monthly estimate against its configured ceiling.

The pack cannot price the inventory itself (the price file and the capacity model live with the
program), so the estimate arrives as policy config, like the capacity figures: `make capacity
STACK=<name>` writes build/<stack>/policy-config.json, and the offline gate prices the run it
checks. Without figures the rule says so.
"""

from __future__ import annotations

from capacity_rules import on_figures
from registry import RECOMMENDATION, stack_rule


@stack_rule("cost-ceiling", kind=RECOMMENDATION, per_stack=True)
@on_figures
def ceiling(f):
    """The monthly estimate with every limit reached (HPAs at maxReplicas, Karpenter's pools at
    their CPU limits) stays within the stack's cost.monthlyCeilingUsd, and prices every resource."""
    worst = f["estimateUsd"]["max"]
    if worst > f["ceilingUsd"]:
        yield (
            f"the estimate with every limit reached is ${worst:,.0f} a month, above cost.monthlyCeilingUsd "
            f"${f['ceilingUsd']:,.0f} (prices {f['priceFile']}): lower the limits or raise the ceiling"
        )
    if f["unpriced"]:
        yield f"the estimate is incomplete, not priced: {', '.join(f['unpriced'])}"
