"""An application's credentials as a Secret mounted as files, and the checksum that rolls its
pods when they change.

Values stay out of the pod spec, `kubectl describe` and /proc/*/environ: the Secret is mounted
read-only under /run/secrets/<app>, and `<VAR>_FILE` variables point at its keys (the images
read `<VAR>_FILE` where they would read <VAR>). Odoo and the API gateway build theirs here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.pod_spec import BOOTSTRAP_ANNOTATION, SECRETS_DIR, checksum
from components.outputs import secret_output


@dataclass(frozen=True)
class MountedSecret:
    #: The pod volume, its read-only mount, and the `<VAR>_FILE` variables.
    volume: dict
    mount: dict
    env: list[dict]
    #: Changes whenever a value does (and says nothing about them).
    checksum: pulumi.Output[str]

    def pod_annotations(self, bootstrap_revision: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        """Roll on a new credential, and start after (and roll with) the database bootstrap
        whose roles the credentials are for."""
        return {"checksum/secret": self.checksum, BOOTSTRAP_ANNOTATION: bootstrap_revision}


def mounted_secret(
    name: str,
    app: str,
    namespace: pulumi.Input[str],
    files: Mapping[str, pulumi.Input[str]],
    variables: Mapping[str, str],
    parent: pulumi.Resource,
    fingerprint: Sequence[pulumi.Input[str]] | None = None,
) -> MountedSecret:
    """The Secret `<app>-secrets` with `files` (key -> value), and `variables` (VAR -> key) as
    `<VAR>_FILE`. The checksum covers `fingerprint`, by default the values themselves."""
    secret = k8s.core.v1.Secret(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{app}-secrets", namespace=namespace),
        string_data={key: secret_output(value) for key, value in files.items()},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    directory = f"{SECRETS_DIR}/{app}"
    return MountedSecret(
        volume={"name": "secrets", "secret": {"secretName": secret.metadata.name, "defaultMode": 0o440}},
        mount={"name": "secrets", "mountPath": directory, "readOnly": True},
        env=[{"name": f"{var}_FILE", "value": f"{directory}/{key}"} for var, key in variables.items()],
        checksum=pulumi.Output.unsecret(
            pulumi.Output.all(*(fingerprint if fingerprint is not None else files.values())).apply(
                lambda values: checksum(*values)
            )
        ),
    )
