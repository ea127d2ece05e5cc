"""tools/load_test.py, the load-test workflow's steps outside `pulumi up`: the runner-local switch
validates as the program's config, the wait ends on the operator's final stages or a deadline,
and the report fails on any runner that crossed a threshold."""

from __future__ import annotations

import shutil

import pytest

from stacks.stack_file import load_stack
from tests.conftest import ROOT
from tools import load_test


def test_enable_turns_the_test_on_in_a_file_the_program_accepts(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    load_test.enable(tmp_path / "Pulumi.staging.yaml", "gh-42", ["spike_test"])
    config, _ = load_stack("staging", tmp_path)
    test = config.load_test
    assert (test.enabled, test.run_id, test.scenarios) == (True, "gh-42", ["spike_test"])
    assert config.environment == "staging", "the rest of the file is untouched"


def test_the_wait_ends_on_a_final_stage_and_prints_each_new_one(capsys):
    stages = iter(["initialization", "started", "started", "finished"])
    assert load_test.wait_for_run(lambda: next(stages), 10, sleep=lambda _: None) == "finished"
    assert capsys.readouterr().out.split() == ["stage:", "initialization", "stage:", "started", "stage:", "finished"]


def test_the_wait_gives_up_at_its_deadline():
    with pytest.raises(SystemExit, match="not done after 0 minutes"):
        load_test.wait_for_run(lambda: "started", 0)


def test_the_report_fails_when_a_runner_crossed_a_threshold():
    text, passed = load_test.report("r1", [("seed-load-r1-1", 0, "ok"), ("seed-load-r1-2", 99, "✗ p(95)<300")])
    assert not passed and "FAILED" in text and "(thresholds crossed)" in text and "✗ p(95)<300" in text
    assert load_test.report("r1", [("seed-load-r1-1", 0, "ok")])[1] is True
    assert load_test.report("r1", [])[1] is False, "no runner is no result"


def test_bad_arguments_exit_2(capsys):
    assert load_test.main(["enable", "staging"]) == 2
    assert load_test.main(["enable", "nostack", "r1"]) == 2
    assert "Pulumi.nostack.yaml" in capsys.readouterr().err


class Condition:
    def __init__(self, type_: str, status: str = "True"):
        self.type, self.status = type_, status


def test_a_job_is_done_on_its_conditions_only():
    """Between retries a Job shows failed pods and none active: still running."""
    assert load_test.job_state(None) == "running"
    assert load_test.job_state([Condition("Suspended", "False")]) == "running"
    assert load_test.job_state([Condition("Complete")]) == "finished"
    assert load_test.job_state([Condition("Failed")]) == "error"
