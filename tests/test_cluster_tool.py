"""tools/cluster_test.py's own logic, without a cluster: what it applies first, the volumes it
binds in place of the CSI drivers, the table it prints, and bad input."""

from __future__ import annotations

from tools import cluster_test
from tools.cluster_test import Outcome, Report, provisioned_volumes, render


def test_an_unknown_stack_is_one_line_and_exit_2(capsys):
    assert cluster_test.main(["nostack"]) == 2
    assert capsys.readouterr().err.strip() == "error: STACK: no stack 'nostack' (no Pulumi.nostack.yaml)"


def test_each_claim_gets_the_volume_its_driver_would_provision():
    claim = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"namespace": "smartdairy", "name": "odoo-filestore"},
        "spec": {
            "resources": {"requests": {"storage": "50Gi"}},
            "storageClassName": "efs",
            "accessModes": ["ReadWriteMany"],
        },
    }
    [volume] = provisioned_volumes([claim, {"kind": "ConfigMap", "metadata": {"name": "x"}}])
    assert volume["spec"]["claimRef"] == {"namespace": "smartdairy", "name": "odoo-filestore"}
    assert (volume["spec"]["storageClassName"], volume["spec"]["capacity"]) == ("efs", {"storage": "50Gi"})
    assert volume["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_table_names_every_rejection_and_fails_on_it():
    report = Report(
        outcomes=[Outcome("NodePool", "apps", True), Outcome("Pod", "smartdairy/x", False, "violates PodSecurity")],
        nodes=7,
        pods=3,
        refused=[],
        scheduled=3,
        unschedulable=["smartdairy/odoo-1: 0/7 nodes are available"],
        blocking_pdbs=[],
        jobs_complete=1,
        jobs=1,
        releases=["karpenter"],
    )
    text = render("staging", report)
    assert "objects accepted 1, rejected 1" in text and "REJECTED Pod smartdairy/x: violates PodSecurity" in text
    assert "UNSCHEDULABLE smartdairy/odoo-1: 0/7 nodes are available" in text and report.failed
