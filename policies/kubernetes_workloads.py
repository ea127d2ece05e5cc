"""Kubernetes rules: the Pod Security Standards restricted profile and workload hygiene."""

from __future__ import annotations

import re

from registry import RECOMMENDATION, as_list, of_type, resource_rule, stack_rule, strings_in

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
#: Long-running pods (probes apply), and everything that makes pods (the rest applies).
WORKLOADS = (DEPLOYMENT, "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
POD_MAKERS = (*WORKLOADS, JOB)
#: The only pods that may hold the database master credentials.
MASTER_CREDENTIAL_HOLDERS = {"db-bootstrap"}
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
#: A credential assigned a value. Not one: SQL's `PASSWORD :'var'`, psql interpolating a variable
#: set from a Secret (the space before the colon tells it from YAML's `password: 'value'`).
SECRET_VALUE = re.compile(
    r"(?i)(^|[\s;])(?!password\s+:'[a-z_]+')(password|passwd|secret|token|api[_-]?key|access[_-]?key)\s*[:=]\s*\S+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key)")


def _template(props) -> dict:
    return (props.get("spec") or {}).get("template") or {}


def _pod(props) -> dict:
    return _template(props).get("spec") or {}


def _containers(pod) -> list:
    return as_list(pod.get("containers")) + as_list(pod.get("initContainers"))


@resource_rule("k8s-pod-security-restricted", POD_MAKERS, severity="critical")
def pod_security(props, config):
    """Pods meet the Pod Security Standards restricted profile (and so baseline)."""
    pod = _pod(props)
    pod_ctx = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            yield f"{key} is not allowed"
    for volume in as_list(pod.get("volumes")):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume.get('name')} of type {', '.join(sorted(kinds - RESTRICTED_VOLUMES))} is not allowed"
    for sysctl in as_list(pod_ctx.get("sysctls")):
        yield f"sysctl {sysctl.get('name')} is not allowed"
    for container in _containers(pod):
        name, ctx = container.get("name"), container.get("securityContext") or {}

        def effective(key, ctx=ctx):
            return ctx.get(key, pod_ctx.get(key))

        if ctx.get("privileged"):
            yield f"{name}: privileged"
        if effective("runAsNonRoot") is not True:
            yield f"{name}: runAsNonRoot must be true"
        if effective("runAsUser") == 0:
            yield f"{name}: runAsUser 0"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{name}: allowPrivilegeEscalation must be false"
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in as_list(capabilities.get("drop")):
            yield f"{name}: capabilities must drop ALL"
        if set(as_list(capabilities.get("add"))) - {"NET_BIND_SERVICE"}:
            yield f"{name}: only NET_BIND_SERVICE may be added"
        seccomp = (effective("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"{name}: seccompProfile must be RuntimeDefault or Localhost"
        if ctx.get("procMount", "Default") != "Default":
            yield f"{name}: procMount must be Default"
        for port in as_list(container.get("ports")):
            if port.get("hostPort"):
                yield f"{name}: hostPort {port.get('hostPort')}"


@resource_rule("k8s-probes", WORKLOADS, kind=RECOMMENDATION, severity="medium")
def probes(props, config):
    """Containers have readiness and liveness probes, and they differ."""
    for container in as_list(_pod(props).get("containers")):
        readiness, liveness = container.get("readinessProbe"), container.get("livenessProbe")
        if not readiness or not liveness:
            yield f"{container.get('name')}: needs readinessProbe and livenessProbe"
        elif readiness == liveness:
            yield f"{container.get('name')}: readiness and liveness probes are identical"


@resource_rule("k8s-requests-and-limits", POD_MAKERS, severity="medium")
def requests_and_limits(props, config):
    """Containers set CPU and memory requests and a memory limit (HPA targets are relative to
    requests)."""
    for container in _containers(_pod(props)):
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
            yield f"{container.get('name')}: set requests.cpu, requests.memory and limits.memory"


@resource_rule("k8s-pinned-images", POD_MAKERS)
def pinned_images(props, config):
    """Images carry a pinned tag or digest, never latest or none."""
    for container in _containers(_pod(props)):
        image = str(container.get("image", ""))
        last = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
            yield f"{container.get('name')}: image {image!r} is not pinned"


@resource_rule("k8s-no-loadbalancer-services", ["kubernetes:core/v1:Service"])
def no_load_balancers(props, config):
    """No Service of type LoadBalancer: traffic enters through the ALB ingress."""
    if (props.get("spec") or {}).get("type") == "LoadBalancer":
        yield "type LoadBalancer bypasses the ingress, the WAF and CloudFront"


@stack_rule("k8s-no-default-namespace", severity="medium")
def no_default_namespace(resources, config):
    """Nothing is deployed to the default namespace."""
    for resource in resources:
        if resource.resource_type.startswith("kubernetes:") and "kind" in resource.props:
            namespace = (resource.props.get("metadata") or {}).get("namespace")
            if namespace == "default":
                yield resource.urn, "namespaced object in the default namespace"


@resource_rule("k8s-no-secrets-in-configmaps", ["kubernetes:core/v1:ConfigMap"], severity="critical")
def no_secrets_in_configmaps(props, config):
    """ConfigMaps hold no password, token or key values; those belong in Secrets."""
    for key, value in (props.get("data") or {}).items():
        if SECRET_KEY.search(str(key)) and str(value).strip():
            yield f"key {key!r} looks like a credential"
        elif SECRET_VALUE.search(str(value)):
            yield f"key {key!r} contains a credential-like value"


def _hpa_targets(resources):
    for hpa in of_type(resources, HPA):
        target = (hpa.props.get("spec") or {}).get("scaleTargetRef") or {}
        namespace = (hpa.props.get("metadata") or {}).get("namespace")
        yield hpa, target.get("kind"), target.get("name"), namespace


def _meta(resource):
    metadata = resource.props.get("metadata") or {}
    return metadata.get("name"), metadata.get("namespace")


@stack_rule("k8s-hpa-target-without-replicas")
def hpa_targets_without_replicas(resources, config):
    """A Deployment an HPA scales does not set replicas (every update would fight the autoscaler,
    pulumi-kubernetes#2569)."""
    deployments = {_meta(d): d for d in of_type(resources, DEPLOYMENT)}
    for hpa, kind, name, namespace in _hpa_targets(resources):
        target = deployments.get((name, namespace)) if kind == "Deployment" else None
        if target is not None and "replicas" in (target.props.get("spec") or {}):
            yield target.urn, f"spec.replicas is set, but {_meta(hpa)[0]} scales it"


@stack_rule("k8s-hpa-scale-headroom", kind=RECOMMENDATION, severity="medium", per_stack=True)
def hpa_headroom(resources, config):
    """HPAs keep 2+ replicas and can double them (the seed's scale 2x), where the stack demands it
    (config: required)."""
    for hpa in of_type(resources, HPA):
        spec = hpa.props.get("spec") or {}
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        if low < 2 or high < 2 * low:
            yield hpa.urn, f"minReplicas {low} / maxReplicas {high}: need min >= 2 and max >= 2 x min"


@stack_rule("k8s-pdb-per-deployment", kind=RECOMMENDATION, severity="medium")
def pdb_per_deployment(resources, config):
    """Every Deployment has a PodDisruptionBudget selecting its pods."""
    budgets = [
        ((b.props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        for b in of_type(resources, "kubernetes:policy/v1:PodDisruptionBudget")
    ]
    for deployment in of_type(resources, DEPLOYMENT):
        labels = (((deployment.props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        if not any(selector and selector.items() <= labels.items() for selector in budgets):
            yield deployment.urn, "no PodDisruptionBudget selects its pods"


NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
PINNED_ALIAS = re.compile(r"^[a-z0-9]+@v[0-9.]+$")


@resource_rule("karpenter-pinned-ami", (NODE_CLASS,), kind=RECOMMENDATION, severity="medium", per_stack=True)
def pinned_ami(props, config):
    """Karpenter node classes pin their AMI release (alias family@vVERSION, never @latest) where
    the stack demands it (config: required): @latest rolls every node to an untested image."""
    for term in as_list((props.get("spec") or {}).get("amiSelectorTerms")):
        alias = term.get("alias")
        if alias is not None and not PINNED_ALIAS.match(str(alias)):
            yield f"amiSelectorTerms alias {alias} is not a pinned release (e.g. al2023@v20260903)"


@resource_rule("alb-origin-restricted", ["kubernetes:networking.k8s.io/v1:Ingress"], severity="high")
def alb_origin_restricted(props, config):
    """An internet-facing ALB admits only CloudFront: a security group on its origin-facing prefix
    list or a web ACL requiring CloudFront's secret header (this stack has both)."""
    annotations = (props.get("metadata") or {}).get("annotations") or {}
    if annotations.get("alb.ingress.kubernetes.io/scheme") != "internet-facing":
        return
    guards = ("alb.ingress.kubernetes.io/security-groups", "alb.ingress.kubernetes.io/wafv2-acl-arn")
    if not any(annotations.get(key) for key in guards):
        yield "internet-facing ALB open to anyone: set alb.ingress.kubernetes.io/security-groups or wafv2-acl-arn"


@resource_rule("k8s-image-digest", POD_MAKERS, kind=RECOMMENDATION, severity="medium")
def image_digest(props, config):
    """Container images are pinned by digest (repository:tag@sha256:...), not by a tag that can
    move."""
    for container in _containers(_pod(props)):
        image = container.get("image", "")
        if "@sha256:" not in image:
            yield f"{container.get('name')}: {image} is a tag; pin its digest (docs/DESIGN.md: Image digests)"


#: A URL carrying a password in its userinfo (`scheme://user:password@host`).
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


@resource_rule("k8s-secrets-as-files", POD_MAKERS, severity="high")
def secrets_as_files(props, config):
    """Credentials reach containers as files from a mounted Secret (`*_FILE`, passfiles), never as
    environment variables: those leak through /proc/*/environ, crash dumps and `kubectl
    describe`."""
    for container in _containers(_pod(props)):
        name = container.get("name")
        for source in as_list(container.get("envFrom")):
            if source.get("secretRef"):
                yield f"{name}: envFrom a Secret puts every key in the environment; mount it as files"
        for variable in as_list(container.get("env")):
            key, value = variable.get("name"), variable.get("value")
            if ((variable.get("valueFrom") or {}).get("secretKeyRef")) is not None:
                yield f"{name}: {key} comes from a Secret; mount the Secret and pass {key}_FILE"
            elif isinstance(value, str) and (URL_WITH_PASSWORD.search(value) or SECRET_VALUE.search(value)):
                yield f"{name}: {key} carries a credential in its value"


def _pod_owner(props) -> str | None:
    labels = (_template(props).get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/name")


@stack_rule("db-master-confined", severity="high")
def master_confined(resources, config):
    """No application connects as the RDS master user: its name appears in no ConfigMap and no pod
    template except the database bootstrap Job's."""
    masters = {r.props.get("username") for r in of_type(resources, "aws:rds/instance:Instance")} - {None}
    if not masters:
        return
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(m)}(?![\w-])" for m in sorted(masters)))
    for resource in of_type(resources, "kubernetes:core/v1:ConfigMap", *POD_MAKERS):
        if resource.resource_type in POD_MAKERS:
            if _pod_owner(resource.props) in MASTER_CREDENTIAL_HOLDERS:
                continue
            subject = _pod(resource.props)
        else:
            subject = resource.props.get("data") or {}
        if any(pattern.search(text) for text in strings_in(subject)):
            yield resource.urn, "uses the database master user; connect as a role of the database bootstrap"
