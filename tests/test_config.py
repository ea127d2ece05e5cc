"""Stack config is validated before any resource exists, with one clear line per problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stacks.loader import ConfigError
from stacks.schema import PlatformConfig
from tests.conftest import PROJECT, ROOT, STACKS, config_problems, load_config, section, stack_file_config, with_section


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_are_valid(stack):
    config = load_config(stack_file_config(stack))
    assert config.environment == stack


def test_environment_differences_live_in_config():
    prod, staging = (load_config(stack_file_config(s)) for s in ("prod", "staging"))
    assert (prod.network.nat_gateways, staging.network.nat_gateways) == ("per-az", "single")
    assert prod.network.az_count == 3


def test_misspelled_nested_key_names_key_and_allowed_keys():
    network = section("prod", "network") | {"natGateway": "single"}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:network", network))
    assert problem.startswith(f"{PROJECT}:network.natGateway: unknown key")
    assert "natGateways" in problem and "azCount" in problem


def test_misspelled_top_level_key_is_not_ignored():
    config = stack_file_config("prod") | {f"{PROJECT}:netwrok": "{}"}
    [problem] = config_problems(config)
    sections = sorted(str(f.alias) for f in PlatformConfig.model_fields.values() if f.alias != "region")
    assert problem == f"{PROJECT}:netwrok: unknown key; allowed keys: " + ", ".join(sections)
    assert {"network", "cdn", "database", "pgbouncer"} <= set(sections)


def test_string_where_a_number_belongs():
    network = section("prod", "network") | {"azCount": "three"}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:network", network))
    assert problem == (
        f"{PROJECT}:network.azCount = 'three': Input should be a valid integer, unable to parse string as an integer"
    )


def test_wrong_choice_lists_the_allowed_values():
    network = section("prod", "network") | {"natGateways": "two"}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:network", network))
    assert "'single' or 'per-az'" in problem


def test_subnets_that_cannot_fit_are_an_impossible_combination():
    network = section("prod", "network") | {"cidr": "10.10.0.0/18"}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:network", network))
    assert problem.startswith(f"{PROJECT}:network: subnetPrefixes x azSlots (4) do not fit in cidr 10.10.0.0/18")


def test_az_slots_below_az_count_is_refused():
    network = section("prod", "network") | {"azCount": 4, "azSlots": 3}
    [problem] = config_problems(with_section("prod", f"{PROJECT}:network", network))
    assert "azSlots (3) must be >= azCount (4)" in problem


def test_every_problem_is_reported_at_once():
    config = with_section("prod", f"{PROJECT}:environment", "Prod!")
    network = section("prod", "network") | {"cidr": "8.8.8.0/24", "azCount": 9}
    config[f"{PROJECT}:network"] = json.dumps(network)
    config.pop("aws:region")
    problems = config_problems(config)
    keys = sorted(p.split(" ")[0].rstrip(":") for p in problems)
    assert keys == ["aws:region", f"{PROJECT}:environment", f"{PROJECT}:network.azCount", f"{PROJECT}:network.cidr"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
network_keys = st.sampled_from(
    ["cidr", "azCount", "azSlots", "natGateways", "subnetPrefixes", "flowLogRetentionDays", "flowLogTrafficType", "x"]
)


@given(st.dictionaries(network_keys, json_values, max_size=4), st.sampled_from(["network", "tags", "environment"]))
def test_arbitrary_values_give_a_config_error_and_nothing_else(overrides, target):
    """Whatever lands in the stack file, the program answers with ConfigError lines naming a key."""
    base = section("prod", "network") if target == "network" else {}
    value = base | overrides if target != "environment" else overrides
    config = with_section("prod", f"{PROJECT}:{target}", value)
    try:
        load_config(config)
    except ConfigError as exc:
        assert exc.problems
        assert all(p.startswith((f"{PROJECT}:", "aws:")) for p in exc.problems)


def test_synth_piped_into_a_reader_that_stops_ends_quietly(tmp_path):
    """`make synth | head`: the synth ends as a shell's SIGPIPE would, without a traceback, and
    what it wrote before printing (the artifacts) is whole."""
    reader, writer = os.pipe()
    os.close(reader)  # a reader that has already gone
    try:
        result = subprocess.run(
            [sys.executable, "tools/synth.py", "staging", "--skip-policies", "--out", str(tmp_path)],
            cwd=ROOT,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writer)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr
    json.loads((tmp_path / "staging" / "resources.json").read_text())


def test_synth_reports_bad_config_without_a_traceback(tmp_path):
    (ROOT / "Pulumi.cfgtest.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  smartdairy-platform:environment: cfgtest\n"
        "  smartdairy-platform:tags: {owner: a, costCenter: b}\n"
        "  smartdairy-platform:network: {cidr: 10.0.0.0/16, natGateways: single, azCount: many}\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "tools/synth.py", "cfgtest", "--out", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        (ROOT / "Pulumi.cfgtest.yaml").unlink()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{PROJECT}:network.azCount = 'many'" in result.stderr
