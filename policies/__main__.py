"""The Smart Dairy policy pack. Only builds the pack: the rules live in importable modules."""

import analyzer_cache
from pulumi_policy import EnforcementLevel, PolicyPack
from registry import load_rules, policies

analyzer_cache.install()
load_rules()
PolicyPack(
    name="smartdairy-platform",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(),
)
