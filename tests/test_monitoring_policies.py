"""The monitoring namespace's NetworkPolicies, as the program registers them."""

from __future__ import annotations

import pytest

from components.apps.kubernetes_network_policies import POD_IDENTITY_EGRESS
from components.observability.monitoring import NAMESPACE, PROMETHEUS_PORT
from components.observability.monitoring_policies import ADAPTER_PORT, WEBHOOK_PORT, monitoring_policies


def policies(run) -> dict[str, dict]:
    return {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == NAMESPACE
    }


def subnets(run, tier: str) -> list[str]:
    return sorted(
        s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == tier
    )


def test_monitoring_denies_by_default_then_allows_its_own_flows(run):
    specs = policies(run)
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # The API server calls the webhook and the adapter from the cluster's subnets, on those ports only.
    api = specs["allow-api-server"]
    [ingress] = api["ingress"]
    assert sorted(b["ipBlock"]["cidr"] for b in ingress["from"]) == subnets(run, "private")
    assert sorted(p["port"] for p in ingress["ports"]) == sorted([WEBHOOK_PORT, ADAPTER_PORT])
    assert [p["port"] for p in api["egress"][0]["ports"]] == [443]
    # Only Prometheus reaches other namespaces; only Grafana and Alertmanager reach AWS.
    cross_namespace = [
        name for name, spec in specs.items() for rule in spec.get("egress", []) if "namespaceSelector" in str(rule)
    ]
    assert cross_namespace == ["allow-dns", "prometheus-scrapes"]
    signers = sorted(name for name, spec in specs.items() if POD_IDENTITY_EGRESS in spec.get("egress", []))
    assert signers == ["alertmanager-aws", "grafana-aws"]
    for name in signers:
        assert specs[name]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": name.removesuffix("-aws")}}


@pytest.mark.parametrize("writers", [[], ["loadtest"]])
def test_only_the_load_test_may_push_samples_and_only_when_it_runs(writers):
    specs = monitoring_policies(["10.0.0.0/20"], PROMETHEUS_PORT, writers)
    remote = specs.get("prometheus-remote-write")
    if not writers:
        assert remote is None
        return
    assert remote is not None
    [rule] = remote["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "loadtest"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": PROMETHEUS_PORT}]
