"""The CRDs the cluster tests install (tests/fixtures/crds/) are the upstream files of the
versions the stacks pin: Karpenter's own version, the prometheus-operator of the
kube-prometheus-stack chart, the secrets-store driver the AWS provider chart locks, the VPC
resource controller, and the k6-operator of its chart. And the schemas other tests check
objects against are the same as these CRDs' own."""

from __future__ import annotations

import json

import pytest
import yaml

from components.compute.karpenter_manifests import KARPENTER_VERSION
from stacks.schema.cluster import SecretsStoreConfig
from stacks.schema.load_test import LoadTestConfig
from stacks.schema.observability import MonitoringConfig
from tests.conftest import ROOT

CRDS = ROOT / "tests" / "fixtures" / "crds"
SOURCES = json.loads((CRDS / "SOURCES.json").read_text())
CHARTS = ROOT / "tests" / "fixtures" / "charts"


def chart_source(name: str, version: str) -> str:
    return json.loads((CHARTS / f"{name}-{version}.json").read_text())["source"]


def default(section, field: str) -> str:
    return section.model_fields[field].default


def expected_tags() -> dict[str, str]:
    """CRD file -> the upstream tag the stacks' pins imply."""
    prometheus_chart = default(MonitoringConfig, "prometheus_chart_version")
    operator = chart_source("kube-prometheus-stack", prometheus_chart).split("(operator ")[1].split(",")[0]
    k6_chart = default(LoadTestConfig, "operator_chart_version")
    k6 = str(LoadTestConfig.model_fields["operator_chart_version"].description).split("(operator ")[1].rstrip(").")
    assert k6_chart == "4.6.0", "the k6-operator chart moved: re-vendor k6.io_testruns.yaml"
    assert default(SecretsStoreConfig, "chart_version") == "3.1.1", "the provider chart moved: re-check its Chart.lock"
    return {
        "karpenter.sh_nodepools.yaml": f"v{KARPENTER_VERSION}",
        "karpenter.sh_nodeclaims.yaml": f"v{KARPENTER_VERSION}",
        "karpenter.k8s.aws_ec2nodeclasses.yaml": f"v{KARPENTER_VERSION}",
        "monitoring.coreos.com_servicemonitors.yaml": operator,
        "monitoring.coreos.com_prometheusrules.yaml": operator,
        # The AWS provider chart 3.1.1 locks the driver at 1.6.0 (its Chart.lock).
        "secrets-store.csi.x-k8s.io_secretproviderclasses.yaml": "v1.6.0",
        "vpcresources.k8s.aws_securitygrouppolicies.yaml": "v1.7.19",
        "k6.io_testruns.yaml": k6,
    }


def test_every_crd_is_the_pinned_upstream_file():
    assert {path.name for path in CRDS.glob("*.yaml")} == set(SOURCES) == set(expected_tags())
    for name, tag in expected_tags().items():
        assert SOURCES[name]["tag"] == tag, name
        assert len(SOURCES[name]["commit"]) == 40, name
        [crd] = list(yaml.load_all((CRDS / name).read_text(), Loader=yaml.CSafeLoader))
        assert crd["kind"] == "CustomResourceDefinition", name


@pytest.mark.parametrize(
    ("crd", "version", "schema"),
    [
        (
            "vpcresources.k8s.aws_securitygrouppolicies.yaml",
            "v1beta1",
            "vpc-resource-controller/securitygrouppolicy-v1beta1.schema.json",
        ),
        ("k6.io_testruns.yaml", "v1alpha1", "k6-operator/testrun-v1alpha1.schema.json"),
    ],
)
def test_the_schemas_other_tests_use_are_these_crds_own(crd, version, schema):
    [document] = list(yaml.load_all((CRDS / crd).read_text(), Loader=yaml.CSafeLoader))
    [served] = [v for v in document["spec"]["versions"] if v["name"] == version]
    assert served["schema"]["openAPIV3Schema"] == json.loads((ROOT / "tests" / "fixtures" / schema).read_text())


def test_the_control_plane_is_the_stacks_minor_and_its_staging_modules_match():
    import re

    from tests.conftest import section

    go_mod = (ROOT / "cluster" / "kubernetes" / "go.mod").read_text()
    [version] = re.findall(r"require k8s\.io/kubernetes v(1\.\d+\.\d+)", go_mod)
    minor, patch = version.split(".")[1], version.split(".")[2]
    for stack in ("staging", "prod"):
        assert section(stack, "cluster")["kubernetesVersion"] == f"1.{minor}", stack
    staged = re.findall(r"=> (k8s\.io/[\w-]+) v(\S+)", go_mod)
    assert staged and {v for _, v in staged} == {f"0.{minor}.{patch}"}
