"""Secrets Manager secrets as files in a pod, through the Secrets Store CSI driver and its AWS
provider, read with the pod's own EKS Pod Identity.

Why not a Kubernetes Secret: its value would pass through the program, Pulumi state and etcd.
Here the kubelet asks the provider at mount time, the provider asks Secrets Manager as the pod,
and the value exists only in the pod's volume (tmpfs). Each JSON field the pod needs becomes a
file of its own (`jmesPath`), so an entrypoint reads `username` and `password` with `cat`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.k8s.pod_spec import SECRETS_DIR

CSI_DRIVER = "secrets-store.csi.k8s.io"
PROVIDER_CLASS_API = "secrets-store.csi.x-k8s.io/v1"


@dataclass(frozen=True)
class SecretFiles:
    #: The pod volume and its read-only mount; the files are `<directory>/<field>`.
    volume: dict
    mount: dict
    directory: str


def provider_objects(secret_arn: str, fields: tuple[str, ...]) -> str:
    """The provider's `objects` parameter: the secret by ARN, each field a file of that name."""
    return yaml.safe_dump(
        [
            {
                "objectName": secret_arn,
                "objectType": "secretsmanager",
                "objectAlias": "secret.json",
                "jmesPath": [{"path": field, "objectAlias": field} for field in fields],
            }
        ],
        sort_keys=False,
    )


def secret_files(
    name: str,
    volume_name: str,
    namespace: pulumi.Input[str],
    region: str,
    secret_arn: pulumi.Input[str],
    fields: tuple[str, ...],
    parent: pulumi.Resource,
    driver: Sequence[pulumi.Resource],
) -> SecretFiles:
    """A SecretProviderClass `name` for one secret, and the volume that mounts its `fields`
    under /run/secrets/<volume_name>, once the `driver` (its CRD) is there. The pod's service
    account needs a Pod Identity that may read the secret (pod_identity.workload_identity)."""
    provider_class = k8s.apiextensions.CustomResource(
        f"{name}-provider-class",
        api_version=PROVIDER_CLASS_API,
        kind="SecretProviderClass",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
        spec={
            "provider": "aws",
            "parameters": {
                "region": region,
                "usePodIdentity": "true",
                "objects": pulumi.Output.from_input(secret_arn).apply(lambda arn: provider_objects(arn, fields)),
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(driver)),
    )
    directory = f"{SECRETS_DIR}/{volume_name}"
    # The name as an output of the class: pods that mount it wait for it.
    attributes: Mapping[str, pulumi.Input[str]] = {"secretProviderClass": provider_class.metadata["name"]}
    return SecretFiles(
        volume={"name": volume_name, "csi": {"driver": CSI_DRIVER, "readOnly": True, "volumeAttributes": attributes}},
        mount={"name": volume_name, "mountPath": directory, "readOnly": True},
        directory=directory,
    )
