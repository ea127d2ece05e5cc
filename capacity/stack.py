"""A stack's supply, read from its validated config (never a copy of it).

Takes the `PlatformConfig` the program validates (stacks/schema); typed only for the checker,
so this package imports neither the program nor Pulumi.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .assumptions import Assumptions
from .model import Supply, Workload

if TYPE_CHECKING:
    from stacks.schema import PlatformConfig

#: vCPUs by instance size (EC2, RDS db.*, ElastiCache cache.*, OpenSearch *.search share the
#: scheme): `large` = 2, `xlarge` = 4, `Nxlarge` = 4N. Burstable `medium` counts 2 (t4g.medium).
SIZES = {"micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> int:
    size = instance_type.removeprefix("db.").removeprefix("cache.").split(".")[1]
    if size in SIZES:
        return SIZES[size]
    match = re.fullmatch(r"(\d+)xlarge", size)
    if match is None:
        raise ValueError(f"unknown instance size in {instance_type!r}")
    return 4 * int(match.group(1))


def cpu(quantity: str) -> float:
    """Kubernetes CPU quantity ("500m", "2") in vCPU."""
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def supply(config: PlatformConfig, a: Assumptions) -> Supply:
    odoo, gateway = config.workloads.odoo, config.workloads.gateway
    pools = {name: getattr(config.pgbouncer, name) for name in ("rw", "ro", "session")}
    steady_vcpu = sum(p.replicas for p in pools.values()) * cpu(
        config.pgbouncer.resources.cpu_request
    ) + odoo.longpolling_replicas * cpu(odoo.longpolling_resources.cpu_request)
    pool_vcpu = sum(p.cpu_limit for p in config.cluster.karpenter.node_pools) * a.node_allocatable_share
    db, cache, search = config.database, config.cache, config.search
    roles = {"sessions": cache.sessions_node_type or cache.node_type, "cache": cache.node_type}
    if cache.layout == "shared":
        roles = {"shared": cache.node_type}
    return Supply(
        az_count=config.network.az_count,
        odoo=Workload(odoo.hpa.max_replicas, odoo.workers / a.odoo_request_s, cpu(odoo.resources.cpu_request)),
        gateway=Workload(gateway.hpa.max_replicas, a.gateway_pod_rps, cpu(gateway.resources.cpu_request)),
        elastic_vcpu=pool_vcpu - steady_vcpu,
        pgbouncer_pools={name: (p.replicas, p.pool_size) for name, p in pools.items()},
        primary_vcpu=vcpus(db.instance_class),
        replica_vcpu=vcpus(db.replica_instance_class or db.instance_class),
        replicas=db.replicas,
        multi_az=db.multi_az,
        redis={role: (vcpus(node), cache.shards, cache.replicas_per_shard) for role, node in roles.items()},
        search_nodes=search.instance_count,
        search_vcpu=vcpus(search.instance_type),
        search_zones=search.zone_count,
    )
