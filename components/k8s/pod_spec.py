"""Pod-spec building blocks shared by every workload: the Pod Security Standards "restricted"
profile, zone spreading, and a checksum that rolls pods when their configuration changes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerResources:
    """Requests and limits of one container; HPA utilization targets are relative to the requests."""

    #: CPU request and limit ("500m", "1").
    cpu_request: str
    cpu_limit: str
    #: Memory request and limit ("512Mi", "2Gi"); the limit is where the kernel kills.
    memory_request: str
    memory_limit: str

    def as_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


#: Non-root, well clear of system UIDs and of any UID baked into a base image.
RUN_AS_UID = 10001


def pull_policy(image: str) -> str:
    """A digest names one image forever: the node's copy will do. A tag can be moved to another
    image, so every start asks the registry what it names now (or fails, if unreachable)."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def pod_security_context(uid: int = RUN_AS_UID) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int = RUN_AS_UID) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def spread(labels: Mapping[str, str]) -> list[dict]:
    """At most one pod of difference between zones (hard), and between nodes (soft)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(labels)},
        },
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        },
    ]


def checksum(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()
