"""The pinned charts' defaults the program relies on changing, recorded per chart version with
their source (tests/fixtures/charts/<chart>-<version>.json): each release overrides each of
them, and a chart bump fails here until the new version's defaults are read and recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_deploy_readiness import releases

CHARTS = ROOT / "tests" / "fixtures" / "charts"
RECORDED = {path.stem: json.loads(path.read_text()) for path in sorted(CHARTS.glob("*.json"))}


def at(values: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path of Helm values, or KeyError."""
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.fixture
def with_load_test():
    from tests.test_loadtest import enabled_run

    return enabled_run()


@pytest.mark.parametrize("recorded", RECORDED.values(), ids=list(RECORDED))
def test_each_recorded_default_is_overridden_by_the_pinned_release(recorded, run, with_load_test):
    pinned = {**releases(run), **releases(with_load_test)}
    release = pinned[recorded["chart"]]
    assert release.inputs["version"] == recorded["version"], (
        f"{recorded['chart']} is pinned at {release.inputs['version']}: record its defaults in "
        f"tests/fixtures/charts/{recorded['chart']}-{release.inputs['version']}.json"
    )
    for key, default in recorded["overrides"].items():
        ours = at(release.inputs["values"], key)
        assert ours != default["default"], f"{recorded['chart']} {key}: still the chart's default ({default['why']})"


def test_every_record_names_its_source():
    for name, recorded in RECORDED.items():
        assert name == f"{recorded['chart']}-{recorded['version']}"
        assert recorded["source"] and all(o["why"] for o in recorded["overrides"].values())
