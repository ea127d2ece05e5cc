"""What every Job that runs Odoo's own code shares (the API key's CronJob, the release Job): an
identity that reads the owner role's secret (and may do a little more), a service account, and
a NetworkPolicy that lets the pod reach PgBouncer as Odoo does, AWS over HTTPS and the Pod
Identity agent, and lets nothing reach it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.apps.kubernetes_network_policies import (
    DNS_EGRESS,
    INTERNET_HTTPS_EGRESS,
    POD_IDENTITY_EGRESS,
    tcp_ports,
)
from components.apps.odoo_config import config_renderer
from components.k8s.pod_spec import container_security_context, pod_security_context, pull_policy
from components.k8s.secret_files import PodAccess, SecretFiles, SecretObject, SecretRef, pod_secrets
from components.k8s.workload import PodPeer

#: The owner role's secret, as files named like Odoo's pods name them (config_renderer reads them).
DB_FILES = {"username": "db-username", "password": "db-password"}


def odoo_job_access(
    name: str,
    service_account: str,
    namespace: pulumi.Input[str],
    db_secret: SecretRef,
    access: PodAccess,
    more: Sequence[dict],
    parent: pulumi.Resource,
) -> tuple[SecretFiles, list[pulumi.Resource], pulumi.Output[str]]:
    """The Job's secret files (volume `<service_account>-aws`), what its pod must wait for (the
    Pod Identity associations) and its service account's name. `more`: its extra permissions."""
    objects = [SecretObject(db_secret, DB_FILES)]
    files, identity = pod_secrets(
        name, f"{service_account}-aws", namespace, [service_account], objects, access, parent, more
    )
    labels = {"app.kubernetes.io/name": service_account, "app.kubernetes.io/part-of": "smartdairy"}
    account = k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=service_account, namespace=namespace, labels=labels),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return files, list(identity.associations), account.metadata.name


def odoo_job_egress(
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    pgbouncer: PodPeer,
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    """PgBouncer (as Odoo), AWS over HTTPS, the Pod Identity agent and DNS; nothing reaches it."""
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-egress",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=labels["app.kubernetes.io/name"], namespace=namespace),
        spec={
            "podSelector": {"matchLabels": dict(labels)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": dict(pgbouncer.labels)}}], "ports": tcp_ports(pgbouncer.port)},
                INTERNET_HTTPS_EGRESS,
                POD_IDENTITY_EGRESS,
                *DNS_EGRESS["egress"],
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def odoo_job_pod(
    labels: Mapping[str, str],
    account: pulumi.Input[str],
    image: str,
    files: SecretFiles,
    config_map: pulumi.Input[str],
    node_selector: Mapping[str, str],
    containers: Sequence[Mapping],
    before: Sequence[Mapping] = (),
    volumes: Sequence[Mapping] = (),
) -> dict:
    """The Job's restricted pod: `before` (init containers), odoo.conf rendered as Odoo's pods
    render it, then `containers`; Odoo's ConfigMap, the secret files and the private tmpfs for
    the config, plus `volumes`."""
    renderer = config_renderer(image, "odoo.conf", [files.mount])
    renderer |= {"imagePullPolicy": pull_policy(image), "securityContext": container_security_context()}
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": account,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "nodeSelector": dict(node_selector),
            "initContainers": [*before, renderer],
            "containers": list(containers),
            "volumes": [
                {"name": "config", "configMap": {"name": config_map}},
                files.volume,
                {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                *volumes,
            ],
        },
    }
