"""EC2NodeClass and NodePool manifests for Karpenter v1 (pinned 1.9), built and checked offline.

No offline validator knows Karpenter's CRDs, and a misspelled field is dropped silently by the
API server's pruning, so the builders check every manifest against the fields below (from the
karpenter.sh/v1 and karpenter.k8s.aws/v1 CRDs of the pinned release) before it is registered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from components.settings import Section

KARPENTER_VERSION = "1.9.0"
POOL_LABEL = "node-role.smartdairy.io/pool"
#: On every node of a pool that serves all application pods (PgBouncer, Odoo's bus, Prometheus).
STEADY_LABEL = "node-role.smartdairy.io/steady"
#: On every application node: the HPA-scaled stateless tiers may run on any pool, overflow ones too.
ELASTIC_LABEL = "node-role.smartdairy.io/elastic"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"

ANY = None  # a leaf of any value
DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")

_SELECTOR = {"tags": ANY, "id": ANY, "name": ANY}
_KUBELET = {
    k: ANY
    for k in (
        "podsPerCore",
        "maxPods",
        "systemReserved",
        "kubeReserved",
        "evictionHard",
        "evictionSoft",
        "evictionSoftGracePeriod",
        "evictionMaxPodGracePeriod",
        "imageGCHighThresholdPercent",
        "imageGCLowThresholdPercent",
        "cpuCFSQuota",
        "clusterDNS",
    )
}
_EBS = {
    k: ANY
    for k in (
        "deleteOnTermination",
        "encrypted",
        "iops",
        "kmsKeyID",
        "snapshotID",
        "throughput",
        "volumeSize",
        "volumeType",
        "volumeInitializationRate",
    )
}
_TAINT = {"key": ANY, "value": ANY, "effect": ANY, "timeAdded": ANY}
_METADATA = {"name": ANY, "labels": ANY, "annotations": ANY, "namespace": ANY}

SCHEMAS: dict[str, dict[str, Any]] = {
    "EC2NodeClass": {
        "apiVersion": ANY,
        "kind": ANY,
        "metadata": _METADATA,
        "spec": {
            "kubelet": _KUBELET,
            "amiFamily": ANY,
            "amiSelectorTerms": [
                {"alias": ANY, "id": ANY, "name": ANY, "owner": ANY, "tags": ANY, "ssmParameter": ANY}
            ],
            "subnetSelectorTerms": [_SELECTOR],
            "securityGroupSelectorTerms": [_SELECTOR],
            "capacityReservationSelectorTerms": [{"tags": ANY, "id": ANY, "ownerID": ANY}],
            "role": ANY,
            "instanceProfile": ANY,
            "tags": ANY,
            "metadataOptions": {
                k: ANY for k in ("httpEndpoint", "httpProtocolIPv6", "httpPutResponseHopLimit", "httpTokens")
            },
            "blockDeviceMappings": [{"deviceName": ANY, "ebs": _EBS, "rootVolume": ANY}],
            "instanceStorePolicy": ANY,
            "userData": ANY,
            "detailedMonitoring": ANY,
            "associatePublicIPAddress": ANY,
        },
    },
    "NodePool": {
        "apiVersion": ANY,
        "kind": ANY,
        "metadata": _METADATA,
        "spec": {
            "template": {
                "metadata": {"labels": ANY, "annotations": ANY},
                "spec": {
                    "nodeClassRef": {"group": ANY, "kind": ANY, "name": ANY},
                    "requirements": [{"key": ANY, "operator": ANY, "values": ANY, "minValues": ANY}],
                    "taints": [_TAINT],
                    "startupTaints": [_TAINT],
                    "expireAfter": ANY,
                    "terminationGracePeriod": ANY,
                },
            },
            "disruption": {
                "consolidationPolicy": ANY,
                "consolidateAfter": ANY,
                "budgets": [{"nodes": ANY, "schedule": ANY, "duration": ANY, "reasons": ANY}],
            },
            "limits": ANY,
            "weight": ANY,
        },
    },
}

ENUMS = {
    ("NodePool", "spec.disruption.consolidationPolicy"): {"WhenEmpty", "WhenEmptyOrUnderutilized"},
    ("NodePool", "spec.template.spec.requirements[].operator"): {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"},
    ("NodePool", "spec.disruption.budgets[].reasons[]"): {"Underutilized", "Empty", "Drifted"},
    ("EC2NodeClass", "spec.metadataOptions.httpTokens"): {"required", "optional"},
    ("EC2NodeClass", "spec.metadataOptions.httpEndpoint"): {"enabled", "disabled"},
}


def problems(manifest: Mapping[str, Any]) -> list[str]:
    kind = manifest.get("kind")
    if kind not in SCHEMAS:
        return [f"kind {kind!r} is not one of {sorted(SCHEMAS)}"]
    expected_api = NODEPOOL_API if kind == "NodePool" else NODECLASS_API
    found = [] if manifest.get("apiVersion") == expected_api else [f"apiVersion must be {expected_api}"]
    _walk(kind, manifest, SCHEMAS[kind], "", found)
    spec = manifest.get("spec", {})
    for path, value in _durations(kind, spec):
        if not DURATION.match(str(value)):
            found.append(f"{path}: {value!r} is not a duration like 30s, 5m, 720h or Never")
    if kind == "NodePool":
        for budget in spec.get("disruption", {}).get("budgets", []):
            if not BUDGET_NODES.match(str(budget.get("nodes", ""))):
                found.append(f"spec.disruption.budgets[].nodes: {budget.get('nodes')!r} is not a count or percentage")
    return found


def _durations(kind: str, spec: Mapping[str, Any]):
    if kind != "NodePool":
        return
    template = spec.get("template", {}).get("spec", {})
    for key in ("expireAfter", "terminationGracePeriod"):
        if key in template:
            yield f"spec.template.spec.{key}", template[key]
    if "consolidateAfter" in spec.get("disruption", {}):
        yield "spec.disruption.consolidateAfter", spec["disruption"]["consolidateAfter"]


def _walk(kind: str, value: Any, schema: Any, path: str, found: list[str]) -> None:
    allowed = ENUMS.get((kind, path))
    if allowed is not None and value not in allowed:
        found.append(f"{path}: {value!r} is not one of {sorted(allowed)}")
    if schema is ANY:
        if isinstance(value, list):
            for item in value:
                _walk(kind, item, ANY, f"{path}[]", found)
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            found.append(f"{path}: expected a list")
            return
        for item in value:
            _walk(kind, item, schema[0], f"{path}[]", found)
        return
    if not isinstance(value, Mapping):
        found.append(f"{path}: expected an object")
        return
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key not in schema:
            found.append(f"{child}: unknown field for Karpenter {KARPENTER_VERSION} {kind}")
        else:
            _walk(kind, item, schema[key], child, found)


class NodePoolSpec(Section):
    """One Karpenter NodePool: what it may launch and how it may disrupt."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$", description="NodePool name, also its node label value.")
    capacity_types: list[Literal["on-demand", "spot"]] = Field(min_length=1, description="on-demand and/or spot.")
    instance_categories: list[Literal["c", "m", "r", "t"]] = Field(
        min_length=1, description="EC2 instance categories the pool may launch."
    )
    min_generation: int = Field(6, ge=3, le=9, description="Oldest instance generation allowed (6: m6i, c6g ...).")
    architectures: list[Literal["amd64", "arm64"]] = Field(
        ["amd64"], min_length=1, description="CPU architectures (images must exist for each)."
    )
    cpu_limit: int = Field(ge=1, le=10000, description="vCPUs the pool may hold in total.")
    memory_limit_gi: int = Field(ge=1, le=100000, description="GiB of memory the pool may hold in total.")
    consolidate_after: str = Field(
        "5m", pattern=DURATION.pattern, description="How long a node must be empty or underused before consolidation."
    )
    disruption_budget: str = Field(
        "10%",
        pattern=BUDGET_NODES.pattern,
        description="Nodes that may be disrupted at once: a count or a percentage.",
    )
    expire_after: str = Field(
        "480h",
        pattern=DURATION.pattern,
        description="Node lifetime before replacement (picks up new AMIs), or Never; with "
        "terminationGracePeriod, the longest any pod on the pool lives.",
    )
    termination_grace_period: str = Field(
        "24h",
        pattern=DURATION.pattern,
        description="How long a node being replaced may wait for its pods (PDBs) before they are evicted.",
    )
    weight: int = Field(10, ge=1, le=100, description="Karpenter fills the heaviest pool first.")
    serves: Literal["all", "elastic"] = Field(
        "all",
        description="all: any application pod. elastic: only the HPA-scaled stateless tiers (Odoo web, "
        "API gateway), e.g. a spot pool that takes the overflow when the others reach their limits.",
    )


def duration_hours(value: str) -> float | None:
    """A Karpenter duration (`720h`, `1h30m`) in hours; None for Never."""
    if value == "Never":
        return None
    units = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0}
    return sum(int(amount) * units[unit] for amount, unit in re.findall(r"([0-9]+)(s|m|h)", value))


def longest_pod_life_hours(spec: NodePoolSpec) -> float | None:
    """The longest a pod on the pool can live: its node expires, then drains for at most the
    grace period. None when nodes never expire."""
    expire, grace = duration_hours(spec.expire_after), duration_hours(spec.termination_grace_period)
    return None if expire is None or grace is None else expire + grace


def ec2_node_class(
    name: str,
    node_role_name: Any,
    discovery_tag: str,
    volume_gb: int,
    ami_alias: str,
    resource_tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`node_role_name` may be a plain string or a Pulumi Output; only the shape is checked.
    `resource_tags` go on every instance, volume and ENI Karpenter launches (cost allocation)."""
    manifest = {
        "apiVersion": NODECLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": ami_alias}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": discovery_tag}}],
            "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": discovery_tag}}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {
                        "volumeSize": f"{volume_gb}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            "detailedMonitoring": True,
            "tags": {**(resource_tags or {}), "karpenter.sh/discovery": discovery_tag},
        },
    }
    return _checked(manifest)


def node_pool(spec: NodePoolSpec, node_class: str) -> dict[str, Any]:
    manifest = {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": spec.name},
        "spec": {
            "template": {
                "metadata": {"labels": pool_labels(spec)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(spec.capacity_types)},
                        {
                            "key": "karpenter.k8s.aws/instance-category",
                            "operator": "In",
                            "values": list(spec.instance_categories),
                        },
                        {
                            "key": "karpenter.k8s.aws/instance-generation",
                            "operator": "Gt",
                            "values": [str(spec.min_generation - 1)],
                        },
                        {"key": "kubernetes.io/arch", "operator": "In", "values": list(spec.architectures)},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "expireAfter": spec.expire_after,
                    "terminationGracePeriod": spec.termination_grace_period,
                },
            },
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": spec.consolidate_after,
                "budgets": [{"nodes": spec.disruption_budget}],
            },
            "limits": {"cpu": str(spec.cpu_limit), "memory": f"{spec.memory_limit_gi}Gi"},
            "weight": spec.weight,
        },
    }
    return _checked(manifest)


def pool_labels(spec: NodePoolSpec) -> dict[str, str]:
    labels = {POOL_LABEL: spec.name, ELASTIC_LABEL: "true"}
    return labels | ({STEADY_LABEL: "true"} if spec.serves == "all" else {})


def _checked(manifest: dict[str, Any]) -> dict[str, Any]:
    found = problems(manifest)
    if found:
        raise ValueError(f"{manifest['kind']} {manifest['metadata']['name']}: " + "; ".join(found))
    return manifest
