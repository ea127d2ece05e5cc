"""The seed's load test inside the cluster: the k6-operator and one TestRun of the k6 script.

The k6 pods call the stack's public URL, so the test crosses CloudFront, the WAF and the ALB as
users do; their results go to Prometheus through its remote-write receiver, so the SLO and
Capacity dashboards show the run next to the HPAs it drives. A TestRun runs once, when it is
created; a new `run_id` names a new TestRun and starts another run. The operator's own images
default to `latest`: every image is pinned here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.apps.kubernetes_network_policies import DNS_EGRESS, INTERNET_HTTPS_EGRESS, namespace_named, tcp_ports
from components.apps.namespace import AppNamespace, AppNamespaceArgs
from components.k8s.helm import helm_release
from components.k8s.pod_spec import ContainerResources, container_security_context, pod_security_context

GRAFANA_CHARTS = "https://grafana.github.io/helm-charts"
OPERATOR_NAMESPACE = "k6-operator"
SCRIPT_FILE = "full_load_test.js"


@dataclass(frozen=True)
class LoadTestArgs:
    #: Namespace of the k6 pods (restricted Pod Security Standard).
    namespace: str
    #: Names the TestRun; a new value starts a new run.
    run_id: str
    #: k6-operator chart version, and the pinned runner and starter images.
    operator_chart_version: str
    #: The k6 runner image, pinned.
    runner_image: str
    #: The image that starts the runners together, pinned.
    starter_image: str
    #: k6 pods sharing the virtual users.
    parallelism: int
    #: Scenarios to run alone (empty: the seed's whole schedule).
    scenarios: Sequence[str]
    #: The URL the journey calls, and the k6 script's source.
    base_url: str
    #: The k6 script's source.
    script: str
    #: Prometheus's remote-write endpoint (its receiver must be on).
    remote_write_url: str
    #: Prometheus's namespace and port: the only in-cluster destination the k6 pods may reach.
    monitoring_namespace: str
    #: Prometheus's port there.
    remote_write_port: int
    #: Requests and limits of one k6 pod, and the nodes it may run on.
    resources: ContainerResources
    #: The nodes a k6 pod may run on.
    node_selector: Mapping[str, str]
    #: What the TestRun waits for besides the operator: the data its journey uses.
    data: Sequence[pulumi.Resource] = ()


class LoadTest(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:load_test:LoadTest"

    def __init__(self, name: str, args: LoadTestArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        operator = helm_release(
            f"{name}-operator",
            "k6-operator",
            "k6-operator",
            args.operator_chart_version,
            OPERATOR_NAMESPACE,
            child,
            repository=GRAFANA_CHARTS,
            # The release creates the namespace; the chart would render it too (namespace.create
            # defaults to true), and Helm refuses an object that already exists (#25).
            values={"installCRDs": True, "namespace": {"create": False}},
            create_namespace=True,
        )
        # The operator serves no webhook; only Prometheus reaches it (the chart's ServiceMonitor).
        k8s.networking.v1.NetworkPolicy(
            f"{name}-operator-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="only-prometheus", namespace=OPERATOR_NAMESPACE),
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [namespace_named(args.monitoring_namespace)]}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator]),
        )
        namespace = AppNamespace(f"{name}-ns", AppNamespaceArgs(name=args.namespace), opts=child).name
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="k6-scripts", namespace=namespace),
            data={SCRIPT_FILE: args.script},
            opts=child,
        )
        for policy, spec in load_test_policies(args.monitoring_namespace, args.remote_write_port).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=namespace),
                spec=spec,
                opts=child,
            )
        self.test_run = f"seed-load-{args.run_id}"
        k8s.apiextensions.CustomResource(
            f"{name}-run",
            api_version="k6.io/v1alpha1",
            kind="TestRun",
            metadata={"name": self.test_run, "namespace": namespace},
            spec=test_run_spec(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator, scripts, *args.data]),
        )
        self.register_outputs({"testRun": self.test_run})


#: The k6 REST API the starter calls on every runner to start them together.
K6_API_PORT = 6565


def load_test_policies(monitoring_namespace: str, remote_write_port: int) -> dict[str, dict]:
    """name -> NetworkPolicy spec of the load-test namespace: deny everything, then DNS, the
    target on the internet (HTTPS, never a private range), Prometheus's remote write, and the
    starter's calls to the runners' API inside the namespace."""
    same_namespace: dict = {"podSelector": {}}
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": DNS_EGRESS,
        "allow-target": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [INTERNET_HTTPS_EGRESS],
        },
        "allow-remote-write": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [namespace_named(monitoring_namespace)], "ports": tcp_ports(remote_write_port)}],
        },
        "allow-k6-api": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [same_namespace], "ports": tcp_ports(K6_API_PORT)}],
            "egress": [{"to": [same_namespace], "ports": tcp_ports(K6_API_PORT)}],
        },
    }


def test_run_spec(args: LoadTestArgs) -> dict:
    """The TestRun's spec (k6.io/v1alpha1), validated against the pinned CRD's schema in tests."""
    # k6 writes its archive and temporary files to the root filesystem: not read-only.
    container = container_security_context() | {"readOnlyRootFilesystem": False}
    hardened = {"securityContext": pod_security_context(), "containerSecurityContext": container}
    env = [
        {"name": "BASE_URL", "value": args.base_url},
        {"name": "K6_PROMETHEUS_RW_SERVER_URL", "value": args.remote_write_url},
        {"name": "K6_PROMETHEUS_RW_TREND_STATS", "value": "p(95),p(99),avg"},
    ]
    if args.scenarios:
        env.append({"name": "SCENARIOS", "value": ",".join(args.scenarios)})
    return {
        "parallelism": args.parallelism,
        "script": {"configMap": {"name": "k6-scripts", "file": SCRIPT_FILE}},
        "arguments": f"--out experimental-prometheus-rw --tag testid={args.run_id}",
        "initializer": {"image": args.runner_image, **hardened},
        "starter": {"image": args.starter_image, **hardened},
        "runner": {
            "image": args.runner_image,
            "env": env,
            "resources": args.resources.as_k8s(),
            "nodeSelector": dict(args.node_selector),
            **hardened,
        },
    }
