"""The Smart Dairy policy pack. Only builds the pack: the rules live in importable modules."""

from pulumi_policy import EnforcementLevel, PolicyPack
from registry import load_rules, policies

load_rules()
PolicyPack(
    name="smartdairy-platform",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(),
)
