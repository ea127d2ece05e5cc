"""Enforcement follows the environment a stack declares, never the stack's name: the policy set,
the protections prod cannot turn off, and the pack's own check that a set fits the stack."""

from __future__ import annotations

import json

import pytest

from stacks.schema.environment import ENVIRONMENTS, POLICY_SETS, STRICTEST, policy_set
from tests.conftest import (
    PROJECT,
    ROOT,
    config_problems,
    load_config,
    program_run,
    section,
    stack_file_config,
    with_section,
)
from tools.capacity import policy_config
from tools.policy_check import analyze, pack_config


def test_every_environment_has_its_policy_set_and_nothing_else_does():
    assert sorted(p.stem for p in POLICY_SETS.glob("*.json")) == sorted(ENVIRONMENTS)


@pytest.mark.parametrize("environment", ["dev", "production", "", "PROD"])
def test_an_environment_without_a_set_gets_the_strictest(environment):
    assert policy_set(environment) == POLICY_SETS / f"{STRICTEST}.json"
    levels = policy_config(environment, {})
    assert levels["rds-deletion-protection"] == {"enforcementLevel": "mandatory", "required": True}
    assert levels["stateful-resources-protected"]["enforcementLevel"] == "mandatory"


def test_a_stack_of_any_name_with_environment_prod_gets_prods_mandatory_policies():
    """`production` is not `prod` by name: its stack file says `environment: prod`."""
    path = ROOT / "Pulumi.production.yaml"
    path.write_text((ROOT / "Pulumi.prod.yaml").read_text())
    try:
        config = pack_config("production")
    finally:
        path.unlink()
    prod = json.loads((POLICY_SETS / "prod.json").read_text())
    for name, entry in prod.items():
        assert {k: v for k, v in config[name].items() if k != "figures"} == entry, name
    assert config["policy-set-matches-environment"] == {"environment": "prod"}


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [
        ("protectStatefulResources", None, False),
        ("database.deletionProtection", "deletionProtection", False),
        ("database.finalSnapshot", "finalSnapshot", False),
        ("database.deleteAutomatedBackups", "deleteAutomatedBackups", True),
        ("cache.finalSnapshot", "finalSnapshot", False),
    ],
)
def test_prod_cannot_turn_a_protection_off(key, field, value):
    if field is None:
        config = stack_file_config("prod") | {f"{PROJECT}:{key}": json.dumps(value)}
    else:
        name = key.split(".")[0]
        config = with_section("prod", f"{PROJECT}:{name}", section("prod", name) | {field: value})
    [problem] = config_problems(config)
    assert problem.startswith(f"{PROJECT}:{key} = {value!r}: environment prod never turns this protection off")


def test_staging_may_turn_protection_off():
    assert load_config(stack_file_config("staging")).database.deletion_protection is False


def test_an_unknown_environment_is_one_line_naming_the_key():
    [problem] = config_problems(stack_file_config("staging") | {f"{PROJECT}:environment": "qa"})
    assert problem == (
        f"{PROJECT}:environment = 'qa': not an environment with a policy set; allowed: prod, staging "
        "(a new one needs policies/config/<name>.json)"
    )


def test_a_policy_set_built_for_another_environment_fails_the_stack():
    """CI passes build/<stack>/policy-config.json; staging's set on the prod stack is refused."""
    staging_set = policy_config("staging", {})
    diagnostics = analyze(program_run("prod"), config=staging_set)
    mismatch = [d for d in diagnostics if d.policy == "policy-set-matches-environment"]
    assert len(mismatch) == 1 and mismatch[0].level == "mandatory"
    assert "tagged Environment=prod, but the policy set was built for staging" in mismatch[0].message
    own = analyze(program_run("prod"), config=policy_config("prod", {}))
    assert not [d for d in own if d.policy == "policy-set-matches-environment"]
