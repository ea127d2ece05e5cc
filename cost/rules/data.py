"""RDS, ElastiCache, OpenSearch, EFS and the volumes of claims and charts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..charges import Charge, Context, hours, rule, truthy, vcpus_of
from ..inventory import at, number

#: RDS gp3 includes 3,000 IOPS and 125 MB/s below 400 GB, 12,000 and 500 MB/s from 400 GB.
RDS_GP3_BASELINE = ((400, 12000, 500), (0, 3000, 125))


@rule("aws:rds/instance:Instance")
def rds_instance(r: Mapping, ctx: Context) -> list[Charge]:
    """Instance hours (twice for Multi-AZ), gp3 storage and any IOPS or throughput above the
    baseline (a replica has its source's), backups beyond the free allowance, and Performance
    Insights beyond its free 7 days."""
    inputs = r["inputs"]
    instance_class = inputs.get("instanceClass", "unknown")
    copies = 2 if truthy(inputs.get("multiAz")) else 1
    az = "Multi-AZ" if copies == 2 else "Single-AZ"
    source = _rds_source(r, ctx)
    storage = number(source.get("allocatedStorage"))
    charges = [
        Charge(f"{instance_class}, {az}", f"rds/instance/{instance_class}", hours(copies)),
        Charge(f"{storage:g} GB gp3" + (" x 2" if copies == 2 else ""), "rds/gp3-gb-month", storage * copies),
    ]
    _, base_iops, base_mbps = next(b for b in RDS_GP3_BASELINE if storage >= b[0])
    extra_iops = max(number(source.get("iops")) - base_iops, 0.0)
    extra_mbps = max(number(source.get("storageThroughput")) - base_mbps, 0.0)
    if extra_iops:
        charges.append(Charge(f"{extra_iops:g} IOPS above baseline", "rds/gp3-iops-month", extra_iops * copies))
    if extra_mbps:
        charges.append(Charge(f"{extra_mbps:g} MB/s above baseline", "rds/gp3-mbps-month", extra_mbps * copies))
    if number(inputs.get("backupRetentionPeriod")) > 0:
        extra = storage * ctx.usage.rds_backup_extra_share
        charges.append(Charge(f"{extra:g} GB backups beyond the free allowance", "rds/backup-gb-month", extra))
    if number(inputs.get("performanceInsightsRetentionPeriod")) > 7:
        vcpu = vcpus_of(instance_class)
        charges.append(
            Charge(f"Performance Insights history, {vcpu} vCPU", "rds/performance-insights-vcpu-month", vcpu)
        )
    return charges


def _rds_source(r: Mapping, ctx: Context) -> Mapping:
    """The instance whose storage a read replica copies (the stack's primary), or itself."""
    if not r["inputs"].get("replicateSourceDb"):
        return r["inputs"]
    primaries = [p["inputs"] for p in ctx.of_type(r["type"]) if not p["inputs"].get("replicateSourceDb")]
    return max(primaries, key=lambda i: number(i.get("allocatedStorage")), default=r["inputs"])


@rule("aws:elasticache/replicationGroup:ReplicationGroup")
def replication_group(r: Mapping, ctx: Context) -> list[Charge]:
    inputs = r["inputs"]
    node, engine = inputs.get("nodeType", "unknown"), inputs.get("engine") or "redis"
    shards = number(inputs.get("numNodeGroups"), 0.0)
    nodes = (
        shards * (1 + number(inputs.get("replicasPerNodeGroup")))
        if shards
        else number(inputs.get("numCacheClusters"), 1.0)
    )
    return [Charge(f"{nodes:g} x {node} ({engine})", f"elasticache/node/{node}/{engine}", hours(nodes))]


#: OpenSearch gp3 includes 3,000 IOPS and 125 MB/s per volume.
SEARCH_GP3_BASELINE = (3000, 125)


@rule("aws:opensearch/domain:Domain")
def search_domain(r: Mapping, ctx: Context) -> list[Charge]:
    cluster, ebs = r["inputs"].get("clusterConfig") or {}, r["inputs"].get("ebsOptions") or {}
    data, count = cluster.get("instanceType", "unknown"), number(cluster.get("instanceCount"), 1.0)
    charges = [Charge(f"{count:g} x {data} data nodes", f"opensearch/instance/{data}", hours(count))]
    if truthy(cluster.get("dedicatedMasterEnabled")):
        master, masters = cluster.get("dedicatedMasterType", "unknown"), number(cluster.get("dedicatedMasterCount"))
        charges.append(Charge(f"{masters:g} x {master} managers", f"opensearch/instance/{master}", hours(masters)))
    if truthy(ebs.get("ebsEnabled")):
        size = number(ebs.get("volumeSize"))
        charges.append(Charge(f"{count:g} x {size:g} GB gp3", "opensearch/gp3-gb-month", count * size))
        extra_iops = max(number(ebs.get("iops")) - SEARCH_GP3_BASELINE[0], 0.0)
        extra_mbps = max(number(ebs.get("throughput")) - SEARCH_GP3_BASELINE[1], 0.0)
        if extra_iops:
            charges.append(
                Charge(f"{extra_iops:g} IOPS above baseline", "opensearch/gp3-iops-month", count * extra_iops)
            )
        if extra_mbps:
            charges.append(
                Charge(f"{extra_mbps:g} MB/s above baseline", "opensearch/gp3-mbps-month", count * extra_mbps)
            )
    return charges


@rule("aws:efs/fileSystem:FileSystem")
def file_system(r: Mapping, ctx: Context) -> list[Charge]:
    """What the claims on its storage class hold (`efs_used_share` of their requests), its
    Elastic-throughput transfer, and its AWS Backup copy when a backup policy is on."""
    stored = ctx.usage.efs_used_share * sum(_claims(ctx, "efs.csi.aws.com"))
    charges = [
        Charge(f"{stored:g} GB stored", "efs/standard-gb-month", stored),
        Charge(
            f"{ctx.usage.efs_transfer_gb:g} GB read and written", "efs/elastic-transfer-gb", ctx.usage.efs_transfer_gb
        ),
    ]
    if any(
        at(b["inputs"], "backupPolicy", "status") == "ENABLED" for b in ctx.of_type("aws:efs/backupPolicy:BackupPolicy")
    ):
        charges.append(Charge(f"{stored:g} GB in AWS Backup", "backup/efs-warm-gb-month", stored))
    return charges


def _claims(ctx: Context, provisioner: str) -> Iterator[float]:
    """Requested GB of the claims whose storage class uses `provisioner`."""
    classes = {
        at(c["inputs"], "metadata", "name")
        for c in ctx.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        if c["inputs"].get("provisioner") == provisioner
    }
    for claim in ctx.of_type("kubernetes:core/v1:PersistentVolumeClaim"):
        if at(claim["inputs"], "spec", "storageClassName") in classes:
            yield number(at(claim["inputs"], "spec", "resources", "requests", "storage"))


@rule("kubernetes:core/v1:PersistentVolumeClaim")
def claim(r: Mapping, ctx: Context) -> list[Charge]:
    """EBS-backed claims; claims on EFS are priced with the file system."""
    spec = r["inputs"].get("spec") or {}
    ebs = {
        at(c["inputs"], "metadata", "name")
        for c in ctx.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        if c["inputs"].get("provisioner") == "ebs.csi.aws.com"
    }
    if spec.get("storageClassName") not in ebs:
        return []
    size = number(at(spec, "resources", "requests", "storage"))
    return [Charge(f"{size:g} GB gp3 volume", "ebs/gp3-gb-month", size)]


@rule("kubernetes:helm.sh/v3:Release")
def helm_release(r: Mapping, ctx: Context) -> list[Charge]:
    """A chart's own volumes (volumeClaimTemplate in its values, e.g. Prometheus's TSDB) on gp3;
    its pods run on the priced nodes."""
    sizes = list(_claim_templates(r["inputs"].get("values")))
    return [Charge(f"{size:g} GB gp3 volume", "ebs/gp3-gb-month", size) for size in sizes]


def _claim_templates(value: Any) -> Iterator[float]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "volumeClaimTemplate":
                yield number(at(item, "spec", "resources", "requests", "storage"))
            else:
                yield from _claim_templates(item)
    elif isinstance(value, list):
        for item in value:
            yield from _claim_templates(item)
