"""A stateless application: Deployment, Service, ServiceAccount, HPA and PodDisruptionBudget with
production defaults (restricted pod security, distinct probes, zone spread, no surge of
unavailability). The Deployment carries no `replicas` when an HPA owns it: setting both makes
every `pulumi up` fight the autoscaler (pulumi-kubernetes#2569)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.hpa import HpaSpec
from components.k8s.pod_spec import (
    ContainerResources,
    container_security_context,
    pod_security_context,
    pull_policy,
    spread,
)
from components.k8s.security_group_policy import GROUP_ANNOTATION, security_group_policy


@dataclass(frozen=True)
class Probes:
    """Three different questions: has it started, can it take traffic now, is it wedged."""

    startup: Mapping
    readiness: Mapping
    liveness: Mapping

    def __post_init__(self) -> None:
        if self.readiness == self.liveness:
            raise ValueError("readiness and liveness probes must differ (a slow pod is not a dead pod)")


@dataclass(frozen=True)
class PodPeer:
    """Pods a flow reaches, as the component that runs them publishes them."""

    #: Labels selecting the pods.
    labels: Mapping[str, str]
    #: Container port of the flow (NetworkPolicies match pod ports, not Service ports).
    port: int
    #: Container port Prometheus scrapes.
    metrics_port: int | None = None


@dataclass(frozen=True)
class WorkloadArgs:
    #: Namespace of every object.
    namespace: pulumi.Input[str]
    #: Name of the Deployment, Service, PDB and HPA, and the app.kubernetes.io/name label.
    app: str
    #: Container image, tag pinned (never latest).
    image: str
    #: HTTP port of the container and of its Service.
    port: int
    #: Requests and limits; HPA utilization targets are relative to the requests.
    resources: ContainerResources
    #: Startup, readiness and liveness probes (readiness and liveness differ).
    probes: Probes
    #: app.kubernetes.io/component label (web, bus, server).
    component: str = "server"
    #: app.kubernetes.io/part-of label.
    part_of: str = "smartdairy"
    #: app.kubernetes.io/name when several workloads are one app (PgBouncer's roles); `app` then
    #: becomes their app.kubernetes.io/instance. None: the name is `app`.
    name_label: str | None = None
    #: Name of the container port, and the Service port in front of it (None: `port`).
    port_name: str = "http"
    #: Port of the Service in front of it (None: `port`).
    service_port: int | None = None
    #: Lifecycle hooks of the main container (a preStop drain).
    lifecycle: Mapping | None = None
    #: More containers in the pod (exporters), secured like the main one. A sidecar that
    #: declares the port named "metrics" serves `metrics_port`.
    sidecars: Sequence[Mapping] = ()
    #: Entrypoint and arguments; None keeps the image's.
    command: Sequence[str] | None = None
    #: Arguments; None keeps the image's.
    args: Sequence[str] | None = None
    #: Container environment (secrets by secretKeyRef only).
    env: Sequence[Mapping] = ()
    #: Port Prometheus scrapes; None: not scraped.
    metrics_port: int | None = None
    #: name -> path of writable emptyDirs (the root filesystem is read-only).
    writable_paths: Mapping[str, str] = field(default_factory=lambda: {"tmp": "/tmp"})
    #: name -> path of small tmpfs emptyDirs for files rendered with secrets (never on node disk).
    private_paths: Mapping[str, str] = field(default_factory=dict)
    #: Extra volumes, their mounts and init containers (secured like the main one).
    volumes: Sequence[Mapping] = ()
    #: Mounts of those volumes in the main container.
    volume_mounts: Sequence[Mapping] = ()
    #: Init containers (secured like the main one).
    init_containers: Sequence[Mapping] = ()
    #: Pod annotations (config checksums roll the pods).
    pod_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: Service annotations (the ALB health check path).
    service_annotations: Mapping[str, str] = field(default_factory=dict)
    #: Node labels the pods require (a Karpenter pool label).
    node_selector: Mapping[str, str] = field(default_factory=dict)
    #: The autoscaler; exactly one of hpa and replicas.
    hpa: HpaSpec | None = None
    #: Only when no HPA owns the Deployment.
    replicas: int | None = None
    #: Time a pod gets to finish its requests after SIGTERM.
    termination_grace_seconds: int = 60
    #: The security group the pods wear (a SecurityGroupPolicy over their labels); None: the node's.
    security_group_id: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if (self.hpa is None) == (self.replicas is None):
            raise ValueError(f"{self.app}: give exactly one of hpa or replicas")
        if ":" not in self.image.rsplit("/", 1)[-1] or self.image.endswith(":latest"):
            raise ValueError(f"{self.app}: image {self.image!r} must carry a pinned tag, never latest")


class Workload(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:workload:Workload"

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = workload_labels(args)
        meta = k8s.meta.v1.ObjectMetaArgs(
            name=args.app, namespace=args.namespace, labels=labels | {"app.kubernetes.io/component": args.component}
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta, automount_service_account_token=False, opts=child
        )
        spec: dict = {
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": labels, "annotations": dict(args.pod_annotations)},
                "spec": pod_spec(args, account.metadata.name, labels),
            },
        }
        if args.replicas is not None:
            spec["replicas"] = args.replicas
        wears = []
        if args.security_group_id is not None:
            wears.append(security_group_policy(name, meta, labels, args.security_group_id, self))
            # A new group rolls the pods: running pods keep the ENI they were created with.
            spec["template"]["metadata"]["annotations"][GROUP_ANNOTATION] = args.security_group_id
        # The pods are created after their policy: the webhook only acts on a pod's creation.
        deployment = k8s.apps.v1.Deployment(
            f"{name}", metadata=meta, spec=spec, opts=pulumi.ResourceOptions(parent=self, depends_on=wears)
        )
        self._service(name, args, labels)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": labels}},
            opts=child,
        )
        if args.hpa is not None:
            self._autoscaler(name, args, args.hpa, labels, deployment)
        self.service_name = args.app
        self.labels = labels
        #: What other components select these pods by (NetworkPolicies, ServiceMonitors).
        self.peer = PodPeer({"app.kubernetes.io/name": args.name_label or args.app}, args.port, args.metrics_port)
        self.register_outputs({"serviceName": self.service_name, "labels": self.labels})

    def _service(self, name: str, args: WorkloadArgs, labels: dict[str, str]) -> None:
        """ClusterIP in front of the pods: the app's port, and the metrics port if scraped."""
        ports = [{"name": args.port_name, "port": args.service_port or args.port, "targetPort": args.port_name}]
        if args.metrics_port:
            ports.append({"name": "metrics", "port": args.metrics_port, "targetPort": "metrics"})
        k8s.core.v1.Service(
            f"{name}-svc",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.app, namespace=args.namespace, labels=labels, annotations=dict(args.service_annotations)
            ),
            spec={"type": "ClusterIP", "selector": labels, "ports": ports},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _autoscaler(
        self, name: str, args: WorkloadArgs, hpa: HpaSpec, labels: dict[str, str], deployment: pulumi.Resource
    ) -> None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{args.app}-hpa", namespace=args.namespace, labels=labels),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.app},
                "minReplicas": hpa.min_replicas,
                "maxReplicas": hpa.max_replicas,
                "metrics": [dict(m) for m in hpa.metrics],
                "behavior": dict(hpa.behavior),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]),
        )


def workload_labels(args: WorkloadArgs) -> dict[str, str]:
    """The recommended app.kubernetes.io labels the Deployment selects its pods by."""
    labels = {"app.kubernetes.io/name": args.name_label or args.app, "app.kubernetes.io/part-of": args.part_of}
    if args.name_label:
        labels["app.kubernetes.io/instance"] = args.app
    return labels


def pod_spec(args: WorkloadArgs, service_account: pulumi.Input[str], labels: dict[str, str]) -> dict:
    """The restricted pod: no service-account token, spread over zones, every container
    secured alike, writable paths as size-limited emptyDirs (tmpfs for the private ones)."""

    def secured(container: Mapping) -> dict:
        return dict(container) | {
            "securityContext": container_security_context(),
            "imagePullPolicy": pull_policy(container["image"]),
        }

    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": args.termination_grace_seconds,
        "topologySpreadConstraints": spread(labels),
        "nodeSelector": dict(args.node_selector),
        "initContainers": [secured(c) for c in args.init_containers],
        "containers": [
            main_container(args) | {"imagePullPolicy": pull_policy(args.image)},
            *(secured(c) for c in args.sidecars),
        ],
        "volumes": [{"name": n, "emptyDir": {"sizeLimit": "256Mi"}} for n in args.writable_paths]
        + [{"name": n, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} for n in args.private_paths]
        + [dict(v) for v in args.volumes],
    }


def main_container(args: WorkloadArgs) -> dict:
    """The app's container; its metrics port unless a sidecar serves the port named metrics."""
    ports = [{"name": args.port_name, "containerPort": args.port}]
    sidecar_ports = {port["name"] for sidecar in args.sidecars for port in sidecar.get("ports", [])}
    if args.metrics_port and "metrics" not in sidecar_ports:
        ports.append({"name": "metrics", "containerPort": args.metrics_port})
    container = {
        "name": args.app,
        "image": args.image,
        "ports": ports,
        "env": [dict(e) for e in args.env],
        "resources": args.resources.as_k8s(),
        "startupProbe": dict(args.probes.startup),
        "readinessProbe": dict(args.probes.readiness),
        "livenessProbe": dict(args.probes.liveness),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": n, "mountPath": p} for n, p in {**args.writable_paths, **args.private_paths}.items()]
        + [dict(m) for m in args.volume_mounts],
    }
    if args.lifecycle:
        container["lifecycle"] = dict(args.lifecycle)
    if args.command:
        container["command"] = list(args.command)
    if args.args:
        container["args"] = list(args.args)
    return container
