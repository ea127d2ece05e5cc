"""EKS, the system node group and Karpenter's pools (with their root volumes)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..charges import Charge, Context, hours, rule, vcpus_of
from ..inventory import at, number
from ..load import Point


@rule("aws:eks/cluster:Cluster")
def eks_cluster(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("EKS control plane", "eks/cluster-hour", hours())]


@rule("aws:eks/nodeGroup:NodeGroup")
def node_group(r: Mapping, ctx: Context) -> list[Charge]:
    """The first instance type, at desiredSize (maxSize at the limits), with its root volumes."""
    inputs = r["inputs"]
    instance = (inputs.get("instanceTypes") or ["unknown"])[0]
    scaling = inputs.get("scalingConfig") or {}

    def nodes(p: Point) -> float:
        return number(scaling.get("maxSize" if p.at_limits else "desiredSize"))

    volume = max((number(at(b, "ebs", "volumeSize")) for b in _launch_template_disks(ctx)), default=20.0)
    return [
        Charge(f"{instance} nodes", f"ec2/instance/{instance}", lambda p: hours(nodes(p))),
        Charge(f"{volume:g} GB gp3 root volume per node", "ebs/gp3-gb-month", lambda p: nodes(p) * volume),
    ]


def _launch_template_disks(ctx: Context) -> Iterator[Mapping]:
    for template in ctx.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        yield from template["inputs"].get("blockDeviceMappings") or []


@rule("kubernetes:karpenter.sh/v1:NodePool")
def node_pool(r: Mapping, ctx: Context) -> list[Charge]:
    """The pool's share of the pods' vCPUs (heaviest weight filled first, up to each limit), at
    the mean per-vCPU price of its categories, spot at `spot_price_share`; root volumes per node."""
    pool = _Pool.of(r)
    price_keys = [f"ec2/vcpu/{category}" for category in pool.categories]
    share = ctx.usage.spot_price_share if pool.capacity_types == ["spot"] else 1.0
    volume = max((number(at(b, "ebs", "volumeSize")) for b in _node_class_disks(ctx)), default=20.0)

    def vcpu(p: Point) -> float:
        return pool_vcpu(ctx, p).get(pool.name, 0.0)

    charges = [
        Charge(
            f"{pool.name} pool vCPUs, {'/'.join(pool.categories)} {'/'.join(pool.capacity_types)}",
            key,
            lambda p: hours(vcpu(p)) * share / len(price_keys),
        )
        for key in price_keys
    ]
    charges.append(
        Charge(
            f"{volume:g} GB gp3 root volume per {ctx.usage.karpenter_node_vcpu:g}-vCPU node",
            "ebs/gp3-gb-month",
            lambda p: math.ceil(vcpu(p) / ctx.usage.karpenter_node_vcpu) * volume,
        )
    )
    return charges


@dataclass(frozen=True)
class _Pool:
    name: str
    limit: float
    weight: float
    categories: list[str]
    capacity_types: list[str]

    @classmethod
    def of(cls, r: Mapping) -> _Pool:
        spec = r["inputs"]["spec"]
        requirements = {q["key"]: q.get("values", []) for q in at(spec, "template", "spec", "requirements") or []}
        return cls(
            name=at(r["inputs"], "metadata", "name") or r["name"],
            limit=number(at(spec, "limits", "cpu"), math.inf),
            weight=number(spec.get("weight"), 0.0),
            categories=sorted(requirements.get("karpenter.k8s.aws/instance-category", ["m"])),
            capacity_types=sorted(requirements.get("karpenter.sh/capacity-type", ["on-demand"])),
        )


def pool_vcpu(ctx: Context, p: Point) -> dict[str, float]:
    """Node vCPUs per pool: the pods' vCPUs over the allocatable share, heaviest pool first."""
    pools = sorted((_Pool.of(r) for r in ctx.of_type("kubernetes:karpenter.sh/v1:NodePool")), key=lambda q: -q.weight)
    left = p.pod_vcpu / ctx.load.allocatable_share
    held = {}
    for pool in pools:
        held[pool.name] = min(left, pool.limit)
        left -= held[pool.name]
    return held


def _node_class_disks(ctx: Context) -> Iterator[Mapping]:
    for node_class in ctx.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        yield from at(node_class["inputs"], "spec", "blockDeviceMappings") or []


def node_vcpu(ctx: Context, p: Point) -> float:
    """vCPUs of all nodes at a point: the node groups' and the pools'."""
    groups = sum(
        number((g["inputs"].get("scalingConfig") or {}).get("maxSize" if p.at_limits else "desiredSize"))
        * vcpus_of((g["inputs"].get("instanceTypes") or ["m.large"])[0])
        for g in ctx.of_type("aws:eks/nodeGroup:NodeGroup")
    )
    return groups + sum(pool_vcpu(ctx, p).values())
