"""tools/synth.py's main: the children and packs it starts, what it hands the synth, what it stops."""

from __future__ import annotations

import signal

import pytest

from tools import synth
from tools.policy_check import capacity_figures


class FakeGate:
    made = 0

    def __init__(self) -> None:
        self.closed = False
        FakeGate.made += 1

    def close(self) -> None:
        self.closed = True


class FakeChild:
    """Records the call main() would fork, and whether it was stopped."""

    started: list[FakeChild] = []

    def __init__(self, fn, *args, **kwargs) -> None:
        self.call, self.closed = (fn, args, kwargs), False
        FakeChild.started.append(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def recorded(monkeypatch):
    """main() with its packs, forks, preload and synth replaced by recorders."""
    FakeChild.started, FakeGate.made = [], 0
    handed: dict[str, object] = {}
    monkeypatch.setattr(synth, "PolicyGate", FakeGate)
    monkeypatch.setattr(synth, "Background", FakeChild)
    monkeypatch.setattr(synth, "free_cores", lambda: 2)
    monkeypatch.setattr(synth, "preload", lambda _files: 0)

    def fake_synth(stack, _out, preview, gates, capacity=None):
        handed.update(stack=stack, preview=preview, gates=gates, capacity=capacity)
        return 0

    monkeypatch.setattr(synth, "synth", fake_synth)
    return handed


def test_with_gates_the_capacity_model_and_the_first_preview_fork_and_all_are_stopped(recorded):
    handlers = [signal.getsignal(ending) for ending in (signal.SIGTERM, signal.SIGINT)]
    assert synth.main(["staging"]) == 0
    # The synth's own process sets end_at_once (tools/synth.py's __main__); a caller keeps its own.
    assert [signal.getsignal(ending) for ending in (signal.SIGTERM, signal.SIGINT)] == handlers
    capacity, preview = FakeChild.started
    assert capacity.call == (capacity_figures, ("staging",), {})
    assert preview.call == (synth.run_program, ("staging",), {"preview": True})
    assert recorded["capacity"] is capacity and recorded["preview"] is preview
    assert len(recorded["gates"]) == 2
    assert all(child.closed for child in FakeChild.started)
    assert all(gate.closed for gate in recorded["gates"])


def test_without_gates_no_capacity_model_is_forked(recorded):
    assert synth.main(["staging", "--skip-policies"]) == 0
    [preview] = FakeChild.started
    assert preview.call[0] is synth.run_program
    assert recorded["capacity"] is None and recorded["gates"] == []


def test_bad_config_exits_2_before_a_pack_or_a_child_starts(recorded, capsys):
    """One line per problem naming the key, and nothing started: no pack, no fork."""
    stack_file = synth.ROOT / "Pulumi.maintest.yaml"
    stack_file.write_text(
        "config:\n  aws:region: eu-west-1\n  smartdairy-platform:environment: maintest\n"
        "  smartdairy-platform:network: {cidr: 10.0.0.0/16, natGateways: single, azCount: many}\n"
    )
    try:
        assert synth.main(["maintest"]) == 2
    finally:
        stack_file.unlink()
    assert FakeChild.started == [] and recorded == {}
    assert FakeGate.made == 0
    assert "smartdairy-platform:network.azCount = 'many'" in capsys.readouterr().err
