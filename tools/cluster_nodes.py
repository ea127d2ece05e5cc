"""kwok nodes that model a stack's node pools for the cluster tests: the system node group at its
maximum size, and each Karpenter NodePool filled to its CPU limit, spread over the network's
zones, with the labels and taints a real node of that pool carries.

An instance type is modelled per pool: the system group's first type, and for NodePools a
`.4xlarge` of their first instance category (16 vCPU), the size Karpenter picks often for these
pods. Allocatable is capacity minus EKS's kube-reserved and the eviction threshold (the AL2023
bootstrap's formulas: CPU 6 % of the first core, 1 % of the second, 0.5 % of cores 3-4, 0.25 %
above; memory 255 MiB + 11 MiB per pod; 100 MiB hard eviction), pods the ENI limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.compute.eks_cluster import SYSTEM_LABEL, SYSTEM_TAINT


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_mib: int
    max_pods: int

    def allocatable(self) -> dict[str, str]:
        reserved_m = _reserved_cpu_millis(self.vcpu)
        reserved_mib = 255 + 11 * self.max_pods + 100
        return {
            "cpu": f"{self.vcpu * 1000 - reserved_m}m",
            "memory": f"{self.memory_mib - reserved_mib}Mi",
            "pods": str(self.max_pods),
            "ephemeral-storage": "95Gi",
        }

    def capacity(self) -> dict[str, str]:
        return {
            "cpu": str(self.vcpu),
            "memory": f"{self.memory_mib}Mi",
            "pods": str(self.max_pods),
            "ephemeral-storage": "100Gi",
        }


#: The types the model uses (vCPU, MiB, max pods). The system group's nodes take the VPC CNI's
#: ENI limit (3 x 10 - 3 + 2 = 29); Karpenter's keep one ENI back for pod branch interfaces
#: (`reservedENIs: 1`), so (8 - 1) x (30 - 1) + 2 = 205 on a .4xlarge.
TYPES = {
    "m7i.large": InstanceType("m7i.large", 2, 8192, 29),
    "m6i.large": InstanceType("m6i.large", 2, 8192, 29),
    "c7i.4xlarge": InstanceType("c7i.4xlarge", 16, 32768, 205),
    "m7i.4xlarge": InstanceType("m7i.4xlarge", 16, 65536, 205),
    "r7i.4xlarge": InstanceType("r7i.4xlarge", 16, 131072, 205),
}


def _reserved_cpu_millis(vcpu: int) -> int:
    shares = [60, 10, 5, 5] + [2.5] * max(0, vcpu - 4)
    return round(sum(shares[:vcpu]))


@dataclass(frozen=True)
class Pool:
    """A pool as nodes see it: its labels and taints, the type, how many nodes."""

    name: str
    instance: InstanceType
    count: int
    labels: Mapping[str, str]
    taints: Sequence[Mapping[str, str]]
    capacity_type: str


def system_pool(instance_types: Sequence[str], max_size: int) -> Pool:
    taint = {**SYSTEM_TAINT, "effect": "NoSchedule"}
    return Pool("system", TYPES[instance_types[0]], max_size, {SYSTEM_LABEL: "true"}, [taint], "on-demand")


def karpenter_pool(nodepool: Mapping) -> Pool:
    """A rendered NodePool filled to its CPU limit with the model's type of its first category."""
    spec = nodepool["spec"]["template"]
    requirements = {r["key"]: r["values"] for r in spec["spec"]["requirements"] if r.get("operator") == "In"}
    category = requirements.get("karpenter.k8s.aws/instance-category", ["m"])[0]
    instance = TYPES[f"{category}7i.4xlarge"]
    count = math.floor(float(nodepool["spec"]["limits"]["cpu"]) / instance.vcpu)
    labels = {**spec["metadata"].get("labels", {}), "karpenter.sh/nodepool": nodepool["metadata"]["name"]}
    capacity_types = requirements.get("karpenter.sh/capacity-type", ["on-demand"])
    return Pool(
        nodepool["metadata"]["name"], instance, count, labels, spec["spec"].get("taints", []), capacity_types[0]
    )


def nodes(pools: Sequence[Pool], zones: Sequence[str]) -> list[dict]:
    """Node objects kwok manages (its annotation), round-robin over the zones."""
    made = []
    for pool in pools:
        for index in range(pool.count):
            name = f"{pool.name}-{index:03d}"
            labels = {
                **pool.labels,
                "kubernetes.io/hostname": name,
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": pool.instance.name,
                "topology.kubernetes.io/zone": zones[index % len(zones)],
                "karpenter.sh/capacity-type": pool.capacity_type,
                "type": "kwok",
            }
            made.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
                    "spec": {"taints": [dict(t) for t in pool.taints]},
                    "status": {"allocatable": pool.instance.allocatable(), "capacity": pool.instance.capacity()},
                }
            )
    return made
