"""tools/synth.py's artifacts: what the cluster test, checkov and the plan diff read back."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import program_run
from tools import synth


@pytest.mark.parametrize("dumper", [synth.MANIFEST_DUMPER, yaml.SafeDumper], ids=["libyaml", "pure Python"])
def test_every_manifest_loads_back_as_the_object_the_program_registered(monkeypatch, tmp_path, dumper):
    """Either emitter (libyaml when PyYAML has it) writes the same documents."""
    monkeypatch.setattr(synth, "MANIFEST_DUMPER", dumper)
    run = program_run("staging")
    synth.write_artifacts(run, tmp_path)
    written = [yaml.safe_load(path.read_text()) for path in sorted((tmp_path / "manifests").iterdir())]
    registered = [r.inputs for r in run.resources if r.type.startswith("kubernetes:") and "kind" in r.inputs]
    assert len(written) == len(registered) > 50
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"].get("name", ""))  # noqa: E731
    assert sorted(written, key=key) == sorted(registered, key=key)


def test_the_synth_writes_each_manifest_with_libyamls_emitter_where_pyyaml_has_it(monkeypatch, tmp_path):
    assert synth.MANIFEST_DUMPER is (yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper)
    used: list[object] = []

    class Recording(synth.MANIFEST_DUMPER):  # type: ignore[misc,valid-type]
        def __init__(self, *args, **kwargs):
            used.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(synth, "MANIFEST_DUMPER", Recording)
    synth.write_artifacts(program_run("staging"), tmp_path)
    assert len(used) == len(list((tmp_path / "manifests").iterdir())) > 50
