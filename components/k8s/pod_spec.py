"""Pod-spec building blocks shared by every workload: the Pod Security Standards "restricted"
profile, zone spreading, and a checksum that rolls pods when their configuration changes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import Field, model_validator

from components.settings import CPU, MEMORY, Section, mebibytes, millicores


class ContainerResources(Section):
    """Requests and limits of one container; HPA utilization targets are relative to the requests."""

    cpu_request: str = Field(pattern=CPU, description='CPU request ("500m", "1"); HPA CPU targets are relative to it.')
    cpu_limit: str = Field(pattern=CPU, description="CPU limit.")
    memory_request: str = Field(pattern=MEMORY, description='Memory request ("512Mi", "2Gi").')
    memory_limit: str = Field(pattern=MEMORY, description="Memory limit, where the kernel kills the container.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ContainerResources:
        if millicores(self.cpu_limit) < millicores(self.cpu_request):
            raise ValueError(f"cpuLimit {self.cpu_limit} is below cpuRequest {self.cpu_request}")
        if mebibytes(self.memory_limit) < mebibytes(self.memory_request):
            raise ValueError(f"memoryLimit {self.memory_limit} is below memoryRequest {self.memory_request}")
        return self

    def as_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


#: Pod annotation naming the database bootstrap Job a pod's database role comes from: the pod
#: starts after that Job and rolls when it changes.
BOOTSTRAP_ANNOTATION = "smartdairy.io/db-bootstrap"
#: Where workloads mount their Secret's files (`*_FILE` variables point into it).
SECRETS_DIR = "/run/secrets"

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
