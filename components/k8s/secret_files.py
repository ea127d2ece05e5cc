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

from components.aws.iam_documents import secret_read_statements
from components.aws.pod_identity import WorkloadIdentity, workload_identity
from components.k8s.pod_spec import SECRETS_DIR

CSI_DRIVER = "secrets-store.csi.k8s.io"
PROVIDER_CLASS_API = "secrets-store.csi.x-k8s.io/v1"


@dataclass(frozen=True)
class PodAccess:
    """Where an application's pods get AWS access: the cluster whose Pod Identity gives their
    service accounts a role, its region, and the CSI driver that mounts their secrets."""

    cluster_name: pulumi.Input[str]
    region: str
    #: What a SecretProviderClass waits for: the release that installs its CRD.
    driver: Sequence[pulumi.Resource]


@dataclass(frozen=True)
class SecretRef:
    """A Secrets Manager secret, and the KMS key it is encrypted with."""

    arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]


@dataclass(frozen=True)
class SecretObject:
    """Which fields of a secret's JSON become which files."""

    secret: SecretRef
    #: JSON field -> file name.
    files: Mapping[str, str]


@dataclass(frozen=True)
class SecretFiles:
    #: The pod volume and its read-only mount; the files are `<directory>/<file name>`.
    volume: dict
    mount: dict
    directory: str

    def path(self, file: str) -> str:
        return f"{self.directory}/{file}"


def read_statements(objects: Sequence[SecretObject], region: str) -> list[dict]:
    """What a pod's identity needs to mount `objects`: read these secrets, decrypt with their
    keys through Secrets Manager only."""
    return secret_read_statements(
        [o.secret.arn for o in objects], list(dict.fromkeys(o.secret.key_arn for o in objects)), region
    )


def provider_objects(objects: Sequence[tuple[str, Mapping[str, str]]]) -> str:
    """The provider's `objects` parameter: each secret by ARN, each chosen field a file."""
    return yaml.safe_dump(
        [
            {
                "objectName": arn,
                "objectType": "secretsmanager",
                "objectAlias": f"secret-{index}.json",
                "jmesPath": [{"path": field, "objectAlias": file} for field, file in files.items()],
            }
            for index, (arn, files) in enumerate(objects)
        ],
        sort_keys=False,
    )


def secret_files(
    name: str,
    volume_name: str,
    namespace: pulumi.Input[str],
    region: str,
    objects: Sequence[SecretObject],
    parent: pulumi.Resource,
    driver: Sequence[pulumi.Resource],
) -> SecretFiles:
    """A SecretProviderClass `name` for `objects`, and the volume that mounts their files under
    /run/secrets/<volume_name>, once the `driver` (its CRD) is there. The pod's service account
    needs a Pod Identity with `read_statements(objects)` (pod_identity.workload_identity)."""
    arns = pulumi.Output.all(*(o.secret.arn for o in objects))
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
                "objects": arns.apply(
                    lambda known: provider_objects([(arn, o.files) for arn, o in zip(known, objects, strict=True)])
                ),
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


def pod_secrets(
    name: str,
    volume: str,
    namespace: pulumi.Input[str],
    service_accounts: Sequence[str],
    objects: Sequence[SecretObject],
    access: PodAccess,
    parent: pulumi.Resource,
    more: Sequence[dict] = (),
) -> tuple[SecretFiles, WorkloadIdentity]:
    """An application's secret files (the SecretProviderClass and volume `volume`, under
    /run/secrets/<volume>) and the Pod Identity of its service accounts (`name`-identity): read
    exactly `objects`, and do `more`."""
    statements = [*read_statements(objects, access.region), *more]
    identity = workload_identity(name, access.cluster_name, namespace, service_accounts, statements, parent)
    files = secret_files(volume, volume, namespace, access.region, objects, parent, access.driver)
    return files, identity
