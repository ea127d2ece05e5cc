"""Prometheus, Grafana and Alertmanager (kube-prometheus-stack) and prometheus-adapter: the
metrics the HPAs scale on, the SLO rules, the dashboards and the alert routing.

prometheus-adapter is the single provider of custom.metrics.k8s.io and external.metrics.k8s.io
in this cluster (only one APIService may serve each: installing KEDA next to it would break
one of them, keda#470). CPU and memory stay with metrics-server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.pod_identity import controller_identity
from components.k8s.helm import helm_release
from components.observability.access_policies import GRAFANA_CLOUDWATCH, alertmanager_publish_policy
from components.observability.alert_routing import AlertDestinations, alertmanager_config
from components.observability.metrics_rules import adapter_rules
from components.observability.monitoring_policies import monitoring_policies

NAMESPACE = "monitoring"
#: Prometheus's port (the chart's service): the adapter, Grafana and remote writes reach it there.
PROMETHEUS_PORT = 9090
COMMUNITY_CHARTS = "https://prometheus-community.github.io/helm-charts"
#: Service accounts named here, not by the chart's release-derived default, so the Pod
#: Identity associations cannot drift from what the chart creates.
GRAFANA_SERVICE_ACCOUNT = "grafana"
ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
GRAFANA_ADMIN_SECRET = "grafana-admin"
#: The Grafana sidecar loads ConfigMaps with this label as dashboards (chart default).
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
#: kube-prometheus-stack's control-plane targets EKS does not expose.
EKS_HIDDEN_COMPONENTS = ("kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy")


@dataclass(frozen=True)
class ScrapeTarget:
    name: str
    namespace: pulumi.Input[str]
    selector: Mapping[str, str]
    port: str = "metrics"


@dataclass(frozen=True)
class MonitoringArgs:
    #: The NodePools its pods schedule onto (nothing else runs them), and how long Helm waits
    #: for a release: its pods may each need a new node first.
    node_pools: Sequence[pulumi.Resource]
    #: Helm's wait for a release, seconds.
    release_timeout_s: int
    #: kube-prometheus-stack and prometheus-adapter chart versions.
    prometheus_chart_version: str
    #: Version of the prometheus-adapter release.
    adapter_chart_version: str
    #: How long Prometheus keeps samples, and the size of its volume (GiB).
    retention: str
    #: Size of Prometheus's volume, GiB.
    storage_gb: int
    #: StorageClass of Prometheus's volume (EKS has no default class).
    storage_class: pulumi.Input[str]
    #: The apps' Services to scrape (a ServiceMonitor each).
    scrape_targets: Sequence[ScrapeTarget]
    #: Prometheus rule groups (recording and alerting), delivered as one PrometheusRule.
    rule_groups: Sequence[Mapping]
    #: Grafana dashboards (uid -> dashboard JSON model), each delivered as a ConfigMap.
    dashboards: Mapping[str, Mapping]
    #: Node labels Prometheus, Grafana and the adapter require.
    node_selector: Mapping[str, str]
    #: Cluster (Pod Identity associations) and region (CloudWatch, SNS).
    cluster_name: pulumi.Input[str]
    #: Region of CloudWatch (Grafana) and SNS (Alertmanager).
    region: str
    #: Namespaces whose pods push samples (the load test's k6 runners): Prometheus accepts
    #: remote writes when there is one, from them only.
    remote_write_namespaces: Sequence[str]
    #: The cluster's subnets: its nodes, and the API server's network interfaces.
    cluster_cidrs: Sequence[str]
    #: The SNS topics Alertmanager publishes to (pages, warnings, the Watchdog's heartbeat) and
    #: their KMS keys.
    alerts: AlertDestinations
    #: Pulumi `protect` of the stack's stateful resources: Prometheus's volume outlives a
    #: destroy when set.
    protect: bool


class Monitoring(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:monitoring:Monitoring"

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        # node-exporter needs host access: this namespace is not "restricted" like the apps'.
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE, labels={"pod-security.kubernetes.io/enforce": "privileged"}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for policy, spec in monitoring_policies(
            args.cluster_cidrs, PROMETHEUS_PORT, args.remote_write_namespaces
        ).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=namespace.metadata.name),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )
        identities = self._identities(name, args)
        stack = helm_release(
            f"{name}-prometheus",
            "kube-prometheus-stack",
            "kube-prometheus-stack",
            args.prometheus_chart_version,
            namespace.metadata.name,
            # Pod Identity injects credentials at pod admission, only if the association exists;
            # the pods run on Karpenter's nodes only, so the pools come first (#25).
            pulumi.ResourceOptions(parent=self, depends_on=[*identities, *args.node_pools]),
            repository=COMMUNITY_CHARTS,
            values=_prometheus_stack_values(args),
            timeout=args.release_timeout_s,
        )
        prometheus_url = f"http://kube-prometheus-stack-prometheus.{NAMESPACE}.svc:{PROMETHEUS_PORT}"
        self.remote_write_url = f"{prometheus_url}/api/v1/write"
        self._adapter(name, args, namespace, stack)
        self._cluster_config(name, args, namespace, stack)
        self.namespace = NAMESPACE
        self.prometheus_url = prometheus_url
        #: Where the load test's remote writes go: the namespace and port its policies allow.
        self.prometheus_port = PROMETHEUS_PORT
        self.register_outputs({"namespace": self.namespace, "prometheusUrl": self.prometheus_url})

    def _adapter(self, name: str, args: MonitoringArgs, namespace: k8s.core.v1.Namespace, stack: pulumi.Resource):
        """prometheus-adapter: the custom and external metrics the HPAs scale on."""
        helm_release(
            f"{name}-adapter",
            "prometheus-adapter",
            "prometheus-adapter",
            args.adapter_chart_version,
            namespace.metadata.name,
            pulumi.ResourceOptions(parent=self, depends_on=[stack, *args.node_pools]),
            repository=COMMUNITY_CHARTS,
            timeout=args.release_timeout_s,
            values={
                "prometheus": {
                    "url": f"http://kube-prometheus-stack-prometheus.{NAMESPACE}.svc",
                    "port": PROMETHEUS_PORT,
                },
                "rules": adapter_rules(),
                # Series seen in the last 5 minutes stay listed, so a late rule evaluation never
                # drops a metric between relists (a missing metric stops an HPA's scale-down).
                "extraArguments": ["--metrics-max-age=5m"],
                "replicas": 2,
                "nodeSelector": dict(args.node_selector),
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            },
        )

    def _cluster_config(
        self, name: str, args: MonitoringArgs, namespace: k8s.core.v1.Namespace, stack: pulumi.Resource
    ):
        """What the operator and Grafana pick up: a ServiceMonitor per app, the SLO rules, and
        a ConfigMap per dashboard."""
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
        for uid, model in args.dashboards.items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{uid}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"dashboard-{uid}", namespace=namespace.metadata.name, labels=DASHBOARD_LABEL
                ),
                data={f"{uid}.json": json.dumps(model, indent=1, sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _identities(self, name: str, args: MonitoringArgs) -> list[pulumi.Resource]:
        """Grafana reads CloudWatch; Alertmanager publishes to the alarm topic."""
        grafana = controller_identity(f"{name}-grafana", args.cluster_name, NAMESPACE, GRAFANA_SERVICE_ACCOUNT, self)
        alertmanager = controller_identity(
            f"{name}-alertmanager", args.cluster_name, NAMESPACE, ALERTMANAGER_SERVICE_ACCOUNT, self
        )
        for role_name, identity, policy in (
            (f"{name}-grafana", grafana, json.dumps(GRAFANA_CLOUDWATCH)),
            (
                f"{name}-alertmanager",
                alertmanager,
                alertmanager_publish_policy(args.alerts.topic_arns, args.alerts.key_arns),
            ),
        ):
            aws.iam.RolePolicy(
                role_name, role=identity.role.id, policy=policy, opts=pulumi.ResourceOptions(parent=self)
            )
        return [grafana.association, alertmanager.association]


def _prometheus_spec(args: MonitoringArgs) -> dict:
    """Prometheus: every monitor and rule, remote write only for the load test, its volume."""
    return {
        "retention": args.retention,
        # Pick up every ServiceMonitor, not only the chart's own.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "enableRemoteWriteReceiver": bool(args.remote_write_namespaces),
        # The volume follows the Prometheus: an unprotected stack's destroy deletes it,
        # a protected stack's keeps it (Helm never deletes a StatefulSet's claims).
        "persistentVolumeClaimRetentionPolicy": {
            "whenDeleted": "Retain" if args.protect else "Delete",
            "whenScaled": "Retain",
        },
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


def _prometheus_stack_values(args: MonitoringArgs) -> dict:
    """kube-prometheus-stack: Prometheus on a persistent volume picking up every monitor and
    rule, Grafana with CloudWatch through Pod Identity, Alertmanager routing to SNS."""
    return {
        "prometheus": {"prometheusSpec": _prometheus_spec(args)},
        # EKS runs the scheduler, controller manager and etcd out of reach, and kube-proxy's
        # metrics listen on the node's loopback: their scrapes could only fail, and their
        # "down" alerts would page forever (#25).
        **{component: {"enabled": False} for component in EKS_HIDDEN_COMPONENTS},
        "defaultRules": {
            "rules": {
                "kubeSchedulerAlerting": False,
                "kubeSchedulerRecording": False,
                "kubeControllerManager": False,
                "etcd": False,
                "kubeProxy": False,
            }
        },
        # The Capacity dashboard counts nodes per Karpenter pool from this node label.
        "kube-state-metrics": {"metricLabelsAllowlist": ["nodes=[karpenter.sh/nodepool]"]},
        "grafana": {
            "enabled": True,
            "nodeSelector": dict(args.node_selector),
            # No local admin, no login: dashboards and data sources are provisioned as code, so
            # nobody needs to edit; viewing is read-only and only through `kubectl port-forward`
            # (who may port-forward into this namespace may look). No password exists to leak.
            "grafana.ini": {
                "security": {"disable_initial_admin_creation": True},
                "auth": {"disable_login_form": True},
                "auth.basic": {"enabled": False},
                "auth.anonymous": {"enabled": True, "org_role": "Viewer"},
                "users": {"allow_sign_up": False},
            },
            "serviceAccount": {"create": True, "name": GRAFANA_SERVICE_ACCOUNT},
            # Credentials come from Pod Identity through the AWS SDK's default chain.
            "additionalDataSources": [
                {
                    "name": "CloudWatch",
                    "uid": "cloudwatch",
                    "type": "cloudwatch",
                    "access": "proxy",
                    "editable": False,
                    "jsonData": {"authType": "default", "defaultRegion": args.region},
                }
            ],
        },
        "alertmanager": {
            "enabled": True,
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT},
            "config": pulumi.Output.all(*args.alerts.topic_arns).apply(
                lambda arns: alertmanager_config(arns[0], arns[1], arns[2], args.region)
            ),
            "alertmanagerSpec": {"nodeSelector": dict(args.node_selector)},
        },
    }
