"""The application namespace, with Pod Security admission enforcing the restricted profile."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

PSA_VERSION = "latest"


@dataclass(frozen=True)
class AppNamespaceArgs:
    #: The namespace; it enforces the restricted Pod Security Standard.
    name: str


class AppNamespace(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:namespace:AppNamespace"

    def __init__(self, name: str, args: AppNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")} | {
            f"pod-security.kubernetes.io/{mode}-version": PSA_VERSION for mode in ("enforce", "audit", "warn")
        }
        namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels=labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = namespace.metadata.name
        self.register_outputs({"name": self.name})
