"""The cluster tier's own proof: a real kube-apiserver (built by `make cluster-tools`) refuses what
schemas and mocks let through, with its own message: a NodePool that breaks one of Karpenter's
CEL rules, a privileged pod in the restricted application namespace, and changes to immutable
fields (a Job's template, a Deployment's selector)."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, program_run
from tools.cluster_test import Cluster, apply_all, crds, install_crds

pytestmark = pytest.mark.real_server


@pytest.fixture(scope="session")  # one control plane, even when xdist interleaves other modules
def cluster(tmp_path_factory) -> Iterator[object]:
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient

    built = subprocess.run(
        ["bash", str(ROOT / "tools" / "cluster-tools.sh")], capture_output=True, text=True, check=True
    )
    tools = Path(built.stdout.strip().splitlines()[-1])
    with Cluster(tools, "sd-proof", tmp_path_factory.mktemp("cluster")) as running:
        client = DynamicClient(config.new_client_from_config(str(running.kubeconfig)))
        assert all(o.accepted for o in install_crds(client, crds()))
        yield client


def rendered(manifests: Path, name: str) -> dict:
    return yaml.safe_load((manifests / name).read_text())


def refusal(client, body: dict) -> str:
    [outcome] = apply_all(client, [body])
    assert not outcome.accepted, f"{body['kind']} {body['metadata']['name']} was accepted"
    return outcome.message


@pytest.fixture(scope="session")
def manifests(tmp_path_factory) -> Path:
    """Staging's rendered objects as `make synth` writes them, from this worker's program run,
    in a directory of this module's own (tests run in parallel)."""
    from tools.synth import write_artifacts

    out = tmp_path_factory.mktemp("synth") / "staging"
    write_artifacts(program_run("staging"), out)
    return out / "manifests"


def test_a_nodepool_breaking_a_cel_rule_is_refused_with_karpenters_message(cluster, manifests):
    nodepool = rendered(manifests, "nodepool-apps.yaml")
    assert apply_all(cluster, [rendered(manifests, "ec2nodeclass-default.yaml"), nodepool])[1].accepted
    bad = copy.deepcopy(nodepool)
    bad["metadata"]["name"] = "restricted-label"
    bad["spec"]["template"]["metadata"]["labels"]["karpenter.sh/nodepool"] = "other"
    assert "restricted" in refusal(cluster, bad)


def test_a_privileged_pod_is_refused_by_pod_security_in_the_apps_namespace(cluster, manifests):
    namespace = rendered(manifests, "namespace-smartdairy.yaml")
    assert apply_all(cluster, [namespace])[0].accepted
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": "smartdairy"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    message = refusal(cluster, pod)
    assert 'violates PodSecurity "restricted:' in message and "privileged" in message


def test_immutable_fields_are_refused_on_update(cluster, manifests):
    namespace = rendered(manifests, "namespace-smartdairy.yaml")
    job = next(yaml.safe_load(p.read_text()) for p in sorted(manifests.glob("job-*.yaml")))
    deployment = rendered(manifests, "deployment-smartdairy-api-gateway.yaml")
    outcomes = apply_all(cluster, [namespace, job, deployment])
    assert all(o.accepted for o in outcomes), outcomes
    changed_job = copy.deepcopy(job)
    changed_job["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:changed"
    assert "field is immutable" in refusal(cluster, changed_job)
    changed_deployment = copy.deepcopy(deployment)
    selector = changed_deployment["spec"]["selector"]["matchLabels"]
    selector["extra"] = "label"
    changed_deployment["spec"]["template"]["metadata"]["labels"]["extra"] = "label"
    assert "field is immutable" in refusal(cluster, changed_deployment)
