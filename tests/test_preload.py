"""synth/preload.py: the provider modules the program names load before the synth forks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from synth.preload import preload, program_files, provider_chains
from tests.conftest import ROOT


def test_chains_are_read_from_names_bound_to_a_provider_package():
    source = textwrap.dedent(
        """
        import json
        import pulumi_aws as aws
        import pulumi_kubernetes as k8s

        vpc = aws.ec2.Vpc("v", cidr_block=json.dumps(k8s.core.v1.NamespaceArgs))
        role = aws.iam.Role
        """
    )
    chains = provider_chains(source)
    assert ("pulumi_aws", "ec2", "Vpc") in chains and ("pulumi_aws", "iam", "Role") in chains
    assert ("pulumi_kubernetes", "core", "v1", "NamespaceArgs") in chains
    assert not [chain for chain in chains if chain[0] == "json"]
    assert provider_chains("import json\nx = json.dumps") == set()


def test_the_program_files_are_the_entry_point_components_and_stacks():
    files = {path.relative_to(ROOT).parts[0] for path in program_files(ROOT)}
    assert files == {"__main__.py", "components", "stacks"}


def test_after_the_preload_a_run_loads_no_provider_module_of_its_own():
    """What the forked first-preview run would still load itself: nothing."""
    script = textwrap.dedent(
        """
        import gc, json, os, sys
        gc.disable()  # as in the synth
        from synth.mock_runtime import ROOT, run_program
        from synth.preload import preload, program_files
        preload(program_files(ROOT))
        before = set(sys.modules)
        run_program("staging")
        print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("pulumi_"))), flush=True)
        os._exit(0)  # as the synth ends: no interpreter teardown
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_a_file_or_chain_that_fails_is_skipped_and_the_rest_still_loads(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import pulumi_aws as aws\ndef (:\n")
    undecodable = tmp_path / "latin.py"
    undecodable.write_bytes(b"import pulumi_aws as aws\nname = '\xe9'\n")
    named = tmp_path / "named.py"
    named.write_text("import pulumi_random as random\nx = random.RandomPassword\ny = random.NoSuchThing\n")
    assert preload([broken, undecodable, tmp_path / "missing.py", named]) == 1
