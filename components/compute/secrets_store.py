"""The Secrets Store CSI driver and its AWS provider: pods mount Secrets Manager secrets as
files, read with their own EKS Pod Identity (components/k8s/secret_files.py).

One chart, AWS's provider, installs the driver as its subchart with the token requests the
provider needs since 3.0 (audiences `sts.amazonaws.com` and `pods.eks.amazonaws.com`), so the
two stay at versions released together. Secret rotation polling and syncing to Kubernetes
Secrets stay off: pods read their credentials at start (alternating users keep the previous
credential valid for a whole rotation period), and no value is copied into etcd.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.k8s.helm import helm_release

NAMESPACE = "kube-system"
REPOSITORY = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
#: Every node that may run an application pod needs both DaemonSets, tainted pools included.
EVERY_NODE = [{"operator": "Exists"}]

#: How often the driver re-reads every mounted secret (Secrets Manager calls: pods x secrets).
ROTATION_POLL = "10m"


@dataclass(frozen=True)
class SecretsStoreDriverArgs:
    #: secrets-store-csi-driver-provider-aws chart version (it pins the driver subchart).
    chart_version: str
    #: Given, not discovered: the provider then needs no read access to pods and nodes.
    region: str


class SecretsStoreDriver(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:secrets_store:SecretsStoreDriver"
    #: What a SecretProviderClass depends on: the release that installs its CRD.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: SecretsStoreDriverArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        resources = {"requests": {"cpu": "50m", "memory": "100Mi"}, "limits": {"cpu": "200m", "memory": "200Mi"}}
        release = helm_release(
            name,
            "secrets-store-csi-driver-provider-aws",
            "secrets-store-csi-driver-provider-aws",
            args.chart_version,
            NAMESPACE,
            pulumi.ResourceOptions(parent=self),
            repository=REPOSITORY,
            values={
                "awsRegion": args.region,
                "tolerations": EVERY_NODE,
                "resources": resources,
                "secrets-store-csi-driver": {
                    "install": True,
                    # Mounted files follow their secret (the gateway's Odoo API key arrives
                    # after its pods have started); applications read them when they need to.
                    "enableSecretRotation": True,
                    "rotationPollInterval": ROTATION_POLL,
                    "syncSecret": {"enabled": False},
                    "linux": {"tolerations": EVERY_NODE, "driver": {"resources": resources}},
                },
            },
        )
        self.ready = [release]
        self.register_outputs({})
