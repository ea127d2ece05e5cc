"""Prometheus (kube-prometheus-stack) and prometheus-adapter: the metrics the HPAs scale on.

prometheus-adapter is the single provider of custom.metrics.k8s.io and external.metrics.k8s.io
in this cluster (only one APIService may serve each: installing KEDA next to it would break
one of them, keda#470). CPU and memory stay with metrics-server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.apps.metrics_rules import adapter_rules

NAMESPACE = "monitoring"
COMMUNITY_CHARTS = "https://prometheus-community.github.io/helm-charts"


@dataclass(frozen=True)
class ScrapeTarget:
    name: str
    namespace: pulumi.Input[str]
    selector: Mapping[str, str]
    port: str = "metrics"


@dataclass(frozen=True)
class MonitoringArgs:
    #: kube-prometheus-stack and prometheus-adapter chart versions.
    prometheus_chart_version: str
    adapter_chart_version: str
    #: How long Prometheus keeps samples, and the size of its volume (GiB).
    retention: str
    storage_gb: int
    #: StorageClass of Prometheus's volume (EKS has no default class).
    storage_class: pulumi.Input[str]
    #: The apps' Services to scrape (a ServiceMonitor each).
    scrape_targets: Sequence[ScrapeTarget]
    #: Prometheus rule groups (recording and alerting), delivered as one PrometheusRule.
    rule_groups: Sequence[Mapping]
    #: Node labels Prometheus, Grafana and the adapter require.
    node_selector: Mapping[str, str]


class Monitoring(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:monitoring:Monitoring"
    namespace: str
    prometheus_url: str

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # node-exporter needs host access: this namespace is not "restricted" like the apps'.
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE, labels={"pod-security.kubernetes.io/enforce": "privileged"}
            ),
            opts=child,
        )
        stack = k8s.helm.v3.Release(
            f"{name}-prometheus",
            name="kube-prometheus-stack",
            chart="kube-prometheus-stack",
            version=args.prometheus_chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=COMMUNITY_CHARTS),
            namespace=namespace.metadata.name,
            values={
                "prometheus": {
                    "prometheusSpec": {
                        "retention": args.retention,
                        # Pick up every ServiceMonitor, not only the chart's own.
                        "serviceMonitorSelectorNilUsesHelmValues": False,
                        "ruleSelectorNilUsesHelmValues": False,
                        "podMonitorSelectorNilUsesHelmValues": False,
                        "nodeSelector": dict(args.node_selector),
                        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
                        "storageSpec": {
                            "volumeClaimTemplate": {
                                "spec": {
                                    "storageClassName": args.storage_class,
                                    "accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": f"{args.storage_gb}Gi"}},
                                }
                            }
                        },
                    }
                },
                "grafana": {"enabled": True, "nodeSelector": dict(args.node_selector)},
                "alertmanager": {"enabled": True},
            },
            opts=child,
        )
        prometheus_url = f"http://kube-prometheus-stack-prometheus.{NAMESPACE}.svc:9090"
        k8s.helm.v3.Release(
            f"{name}-adapter",
            name="prometheus-adapter",
            chart="prometheus-adapter",
            version=args.adapter_chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=COMMUNITY_CHARTS),
            namespace=namespace.metadata.name,
            values={
                "prometheus": {"url": f"http://kube-prometheus-stack-prometheus.{NAMESPACE}.svc", "port": 9090},
                "rules": adapter_rules(),
                "replicas": 2,
                "nodeSelector": dict(args.node_selector),
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]),
        )
        for target in args.scrape_targets:
            k8s.apiextensions.CustomResource(
                f"{name}-{target.name}",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={"name": target.name, "namespace": target.namespace},
                spec={
                    "selector": {"matchLabels": dict(target.selector)},
                    "endpoints": [{"port": target.port, "interval": "15s", "path": "/metrics"}],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]),
            )
        k8s.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "smartdairy-slo", "namespace": namespace.metadata.name},
            spec={"groups": [dict(group) for group in args.rule_groups]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]),
        )
        self.namespace = NAMESPACE
        self.prometheus_url = prometheus_url
        self.register_outputs({"namespace": self.namespace, "prometheusUrl": self.prometheus_url})
