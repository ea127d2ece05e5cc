"""A Job created without pods, for whoever knows its moment to resume (`spec.suspend: false`):
the load test's cleanups run after a TestRun that Pulumi does not wait for."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s


def suspended_job(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    spec: dict,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.batch.v1.Job:
    """Not awaited (it would never complete by itself), and a later `up` leaves alone whether
    someone resumed it. Its deadline counts from the resume."""
    return k8s.batch.v1.Job(
        resource_name,
        metadata={"name": name, "namespace": namespace, "annotations": {"pulumi.com/skipAwait": "true"}},
        spec={**spec, "suspend": True},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), ignore_changes=["spec.suspend"]),
    )
