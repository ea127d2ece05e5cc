"""Helm releases, all made the same way: a pinned chart version, its repository (or an OCI
reference in `chart`), an explicit release name and namespace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def helm_release(
    resource_name: str,
    release: str,
    chart: str,
    version: str,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    repository: str | None = None,
    values: Mapping[str, Any] | None = None,
    **options: Any,
) -> k8s.helm.v3.Release:
    """`release` of `chart` at `version`; `options` are the Release's other arguments
    (skip_crds, create_namespace ...)."""
    if repository is not None:
        options["repository_opts"] = k8s.helm.v3.RepositoryOptsArgs(repo=repository)
    if values is not None:
        options["values"] = values
    return k8s.helm.v3.Release(
        resource_name, name=release, chart=chart, version=version, namespace=namespace, opts=opts, **options
    )
