"""The Smart Dairy policy pack. Only builds the pack: the rules live in importable modules."""

import aws_compute  # noqa: F401  (modules register their rules on import)
import aws_data  # noqa: F401
import aws_edge  # noqa: F401
import aws_observability  # noqa: F401
import aws_search  # noqa: F401
import capacity_rules  # noqa: F401
import kubernetes_workloads  # noqa: F401
import stack  # noqa: F401
from pulumi_policy import EnforcementLevel, PolicyPack
from registry import policies

PolicyPack(
    name="smartdairy-platform",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(),
)
