"""What each resource type costs a month: the priced dimensions of a resource, as charges.

A rule returns `Charge`s: a price key and the monthly quantity at a point (a number, or a
function of the point for the elastic and traffic-driven parts). Types that AWS does not bill
(IAM, routes, Kubernetes objects whose cost is their nodes) are listed in FREE with the reason;
any other type is reported as unpriced, never counted as zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .inventory import at, number
from .load import Load, Point
from .traffic import Traffic, traffic
from .usage import HOURS_PER_MONTH, SECONDS_PER_MONTH, Usage

Quantity = float | Callable[[Point], float]
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Charge:
    #: What is billed, for people: "db.r7g.4xlarge, Single-AZ".
    what: str
    #: Key in the price file.
    key: str
    #: Units a month (of the key's unit), fixed or at a point.
    quantity: Quantity

    def units(self, point: Point) -> float:
        return self.quantity(point) if callable(self.quantity) else self.quantity


@dataclass
class Context:
    """The whole inventory and the month's load, for rules that look beyond their resource."""

    resources: list[dict]
    load: Load
    usage: Usage
    _by_type: dict[str, list[dict]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[dict]:
        if not self._by_type:
            for r in self.resources:
                self._by_type.setdefault(r["type"], []).append(r)
        return self._by_type.get(type_, [])

    def traffic(self, point: Point) -> Traffic:
        return traffic(point, self.usage)


Rule = Callable[[Mapping, Context], list[Charge]]
RULES: dict[str, Rule] = {}

#: Types AWS does not bill by themselves, and why.
FREE = {
    "pulumi:providers:aws": "a provider",
    "pulumi:providers:kubernetes": "a provider",
    "random:index/randomId:RandomId": "local",
    "random:index/randomPassword:RandomPassword": "local",
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "a wait, not a resource",
    "aws:cloudfront/cachePolicy:CachePolicy": "configuration",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "configuration",
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": "configuration",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "configuration",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events and schedules are free",
    "aws:cloudwatch/eventTarget:EventTarget": "configuration",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "configuration",
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": "Cost Anomaly Detection is free",
    "aws:costexplorer/anomalySubscription:AnomalySubscription": "Cost Anomaly Detection is free",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "configuration",
    "aws:ec2/flowLog:FlowLog": "billed as its log group's ingestion",
    "aws:ec2/internetGateway:InternetGateway": "free; data transfer is priced with CloudFront",
    "aws:ec2/launchTemplate:LaunchTemplate": "its volumes are priced with the node group",
    "aws:ec2/route:Route": "configuration",
    "aws:ec2/routeTable:RouteTable": "configuration",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "configuration",
    "aws:ec2/securityGroup:SecurityGroup": "configuration",
    "aws:ec2/subnet:Subnet": "configuration",
    "aws:ec2/tag:Tag": "configuration",
    "aws:ec2/vpc:Vpc": "configuration",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": "free; the runner's traffic is small",
    "aws:efs/backupPolicy:BackupPolicy": "its backups are priced with the file system",
    "aws:efs/mountTarget:MountTarget": "free",
    "aws:eks/accessEntry:AccessEntry": "configuration",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "configuration",
    "aws:eks/addon:Addon": "free; its pods run on the priced nodes",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "free",
    "aws:elasticache/parameterGroup:ParameterGroup": "configuration",
    "aws:elasticache/subnetGroup:SubnetGroup": "configuration",
    "aws:elasticache/user:User": "configuration",
    "aws:elasticache/userGroup:UserGroup": "configuration",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:kms/alias:Alias": "free (the key is priced)",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "free (its invocations are priced with the function)",
    "aws:lambda/invocation:Invocation": "one invocation at deploy",
    "aws:lambda/permission:Permission": "configuration",
    "aws:rds/parameterGroup:ParameterGroup": "configuration",
    "aws:rds/subnetGroup:SubnetGroup": "configuration",
    "aws:route53/record:Record": "alias queries to CloudFront are free; the zone is not the stack's",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "configuration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "configuration",
    "aws:s3/bucketLogging:BucketLogging": "its objects are priced with the target bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2": "priced with its bucket's storage",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "configuration",
    "aws:s3/bucketPolicy:BucketPolicy": "configuration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "configuration",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "priced with its bucket's storage",
    "aws:secretsmanager/secretRotation:SecretRotation": "priced with the secret and its function",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced with the secret",
    "aws:sns/topic:Topic": "alarm volumes stay in SNS's free tier (1M publishes, 1,000 emails)",
    "aws:sns/topicPolicy:TopicPolicy": "configuration",
    "aws:sns/topicSubscription:TopicSubscription": "configuration",
    "aws:sqs/queuePolicy:QueuePolicy": "configuration",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "configuration",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "configuration",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "billed as its log group's ingestion",
}
#: Kubernetes kinds whose cost is the nodes they run on (priced with the node group and pools).
KUBERNETES_ON_NODES = (
    "apps/v1:Deployment",
    "apps/v1:StatefulSet",
    "apps/v1:DaemonSet",
    "autoscaling/v2:HorizontalPodAutoscaler",
    "batch/v1:CronJob",
    "batch/v1:Job",
    "core/v1:ConfigMap",
    "core/v1:Namespace",
    "core/v1:Service",
    "core/v1:ServiceAccount",
    "karpenter.k8s.aws/v1:EC2NodeClass",
    "monitoring.coreos.com/v1:PrometheusRule",
    "monitoring.coreos.com/v1:ServiceMonitor",
    "networking.k8s.io/v1:IngressClass",
    "networking.k8s.io/v1:NetworkPolicy",
    "policy/v1:PodDisruptionBudget",
    "secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
    "storage.k8s.io/v1:StorageClass",
    "vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy",
)
FREE |= {f"kubernetes:{kind}": "runs on the priced nodes" for kind in KUBERNETES_ON_NODES}


def rule(*types: str):
    def register(fn: Rule) -> Rule:
        for type_ in types:
            RULES[type_] = fn
        return fn

    return register


def hours(count: float = 1.0) -> float:
    return count * HOURS_PER_MONTH


# --- compute ----------------------------------------------------------------------------------


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
        return _pool_vcpu(ctx, p).get(pool.name, 0.0)

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


def _pool_vcpu(ctx: Context, p: Point) -> dict[str, float]:
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


# --- data -------------------------------------------------------------------------------------

#: RDS gp3 includes 3,000 IOPS and 125 MB/s below 400 GB, 12,000 and 500 MB/s from 400 GB.
RDS_GP3_BASELINE = ((400, 12000, 500), (0, 3000, 125))


@rule("aws:rds/instance:Instance")
def rds_instance(r: Mapping, ctx: Context) -> list[Charge]:
    """Instance hours (twice for Multi-AZ), gp3 storage and any IOPS or throughput above the
    baseline (a replica has its source's), backups beyond the free allowance, and Performance
    Insights beyond its free 7 days."""
    inputs = r["inputs"]
    instance_class = inputs.get("instanceClass", "unknown")
    copies = 2 if _truthy(inputs.get("multiAz")) else 1
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
        vcpu = _vcpus(instance_class)
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


def _vcpus(instance_class: str) -> int:
    from capacity.stack import vcpus

    return vcpus(instance_class)


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


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
    if _truthy(cluster.get("dedicatedMasterEnabled")):
        master, masters = cluster.get("dedicatedMasterType", "unknown"), number(cluster.get("dedicatedMasterCount"))
        charges.append(Charge(f"{masters:g} x {master} managers", f"opensearch/instance/{master}", hours(masters)))
    if _truthy(ebs.get("ebsEnabled")):
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


# --- network ----------------------------------------------------------------------------------


@rule("aws:ec2/natGateway:NatGateway")
def nat_gateway(r: Mapping, ctx: Context) -> list[Charge]:
    """Hours, and its share of the nodes' NAT traffic (`nat_gb_per_vcpu` per node vCPU)."""
    gateways = len(ctx.of_type(r["type"]))

    def gb(p: Point) -> float:
        return ctx.usage.nat_gb_per_vcpu * _node_vcpu(ctx, p) / gateways

    return [
        Charge("NAT gateway", "vpc/nat-gateway-hour", hours()),
        Charge("data processed", "vpc/nat-gateway-gb", gb),
    ]


def _node_vcpu(ctx: Context, p: Point) -> float:
    """vCPUs of all nodes at a point: the node groups' and the pools'."""
    groups = sum(
        number((g["inputs"].get("scalingConfig") or {}).get("maxSize" if p.at_limits else "desiredSize"))
        * _vcpus((g["inputs"].get("instanceTypes") or ["m.large"])[0])
        for g in ctx.of_type("aws:eks/nodeGroup:NodeGroup")
    )
    return groups + sum(_pool_vcpu(ctx, p).values())


@rule("aws:ec2/eip:Eip")
def elastic_ip(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("public IPv4 address", "vpc/public-ipv4-hour", hours())]


@rule("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(r: Mapping, ctx: Context) -> list[Charge]:
    """Gateway endpoints (S3, DynamoDB) are free; interface endpoints bill per zone."""
    if r["inputs"].get("vpcEndpointType", "Gateway") == "Gateway":
        return []
    zones = len(r["inputs"].get("subnetIds") or [])
    return [Charge(f"interface endpoint in {zones} zone(s)", "vpc/interface-endpoint-hour", hours(zones))]


@rule("kubernetes:networking.k8s.io/v1:Ingress")
def ingress(r: Mapping, ctx: Context) -> list[Charge]:
    """The ALB the load balancer controller creates: hours, LCUs (the larger of processed GB per
    hour and new connections per second / 25), and one public IPv4 per public subnet."""
    annotations = at(r["inputs"], "metadata", "annotations") or {}
    alb = at(r["inputs"], "spec", "ingressClassName") == "alb" or any(
        key.startswith("alb.ingress.kubernetes.io/") for key in annotations
    )
    if not alb:
        return []
    zones = sum(
        1 for s in ctx.of_type("aws:ec2/subnet:Subnet") if (s["inputs"].get("tags") or {}).get("kubernetes.io/role/elb")
    )

    def lcu_hours(p: Point) -> float:
        t = ctx.traffic(p)
        gb_per_hour = t.alb_gb / HOURS_PER_MONTH
        connections_per_s = t.alb_requests * ctx.usage.alb_new_connections_per_request / SECONDS_PER_MONTH
        return hours(max(gb_per_hour, connections_per_s / 25))

    return [
        Charge("Application Load Balancer", "elb/alb-hour", hours()),
        Charge("load balancer capacity units", "elb/alb-lcu-hour", lcu_hours),
        Charge(f"{zones} public IPv4 addresses", "vpc/public-ipv4-hour", hours(zones)),
    ]


# --- edge -------------------------------------------------------------------------------------


@rule("aws:cloudfront/distribution:Distribution")
def distribution(r: Mapping, ctx: Context) -> list[Charge]:
    """The month's requests and transfer out (first-tier prices: an upper bound), split between
    the stack's distributions in equal parts."""
    share = 1 / len(ctx.of_type(r["type"]))
    return [
        Charge("HTTPS requests", "cloudfront/https-10k-requests", lambda p: ctx.traffic(p).cdn_requests * share / 1e4),
        Charge("data transfer out", "cloudfront/transfer-out-gb", lambda p: ctx.traffic(p).cdn_gb * share),
    ]


@rule("aws:cloudfront/monitoringSubscription:MonitoringSubscription")
def monitoring_subscription(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("8 additional distribution metrics", "cloudwatch/metric-month", 8)]


@rule("aws:cloudfront/realtimeLogConfig:RealtimeLogConfig")
def realtime_logs(r: Mapping, ctx: Context) -> list[Charge]:
    rate = number(r["inputs"].get("samplingRate"), 100.0) / 100
    return [
        Charge(
            f"log lines ({rate:.0%} of requests)",
            "cloudfront/realtime-log-1m-lines",
            lambda p: _sampled(ctx, p, rate) / 1e6,
        )
    ]


def _sampled(ctx: Context, p: Point, rate: float) -> float:
    return ctx.traffic(p).cdn_requests * rate


def _sampling_rate(ctx: Context) -> float:
    configs = ctx.of_type("aws:cloudfront/realtimeLogConfig:RealtimeLogConfig")
    return sum(number(c["inputs"].get("samplingRate"), 100.0) for c in configs) / 100


@rule("aws:kinesis/stream:Stream")
def stream(r: Mapping, ctx: Context) -> list[Charge]:
    """Provisioned shards, and one PUT payload unit per real-time log record (each under 25 KB)."""
    shards = number(r["inputs"].get("shardCount"), 1.0)
    rate = _sampling_rate(ctx)
    return [
        Charge(f"{shards:g} shard(s)", "kinesis/shard-hour", hours(shards)),
        Charge("PUT payload units", "kinesis/put-1m-units", lambda p: _sampled(ctx, p, rate) / 1e6),
    ]


@rule("aws:wafv2/webAcl:WebAcl")
def web_acl(r: Mapping, ctx: Context) -> list[Charge]:
    """The ACL, its rules, and the requests it inspects: CloudFront's or the ALB's."""
    rules = len(r["inputs"].get("rules") or [])
    edge = r["inputs"].get("scope") == "CLOUDFRONT"
    return [
        Charge("web ACL", "waf/web-acl-month", 1),
        Charge(f"{rules} rules", "waf/rule-month", rules),
        Charge("requests inspected", "waf/1m-requests", lambda p: _acl_requests(ctx, p, edge) / 1e6),
    ]


def _acl_requests(ctx: Context, p: Point, edge: bool) -> float:
    t = ctx.traffic(p)
    return t.cdn_requests if edge else t.alb_requests


@rule("aws:lambda/function:Function")
def function(r: Mapping, ctx: Context) -> list[Charge]:
    """Lambda@Edge (published, on the edge provider) runs on every S3 origin response (asset
    misses); the real-time log consumer once per second at most (one shard's batches); the rest
    rarely."""
    inputs, u = r["inputs"], ctx.usage
    memory_gb = number(inputs.get("memorySize"), 128.0) / 1024
    edge = _truthy(inputs.get("publish")) and "aws-edge" in r.get("provider", "")
    consumer = bool(ctx.of_type("aws:kinesis/stream:Stream")) and "METRIC_NAMESPACE" in (
        at(inputs, "environment", "variables") or {}
    )

    def invocations(p: Point) -> float:
        if edge:
            return ctx.traffic(p).asset_requests * u.asset_miss_share
        if consumer:
            return min(_sampled(ctx, p, _sampling_rate(ctx)), SECONDS_PER_MONTH)
        return u.rare_function_invocations

    family = "lambda-edge" if edge else "lambda"
    duration = u.edge_function_duration_s if edge else u.function_duration_s
    charges = [
        Charge("invocations", f"{family}/1m-requests", lambda p: invocations(p) / 1e6),
        Charge(
            f"{memory_gb * 1024:g} MB x {duration:g} s",
            f"{family}/gb-second",
            lambda p: invocations(p) * memory_gb * duration,
        ),
    ]
    if consumer:
        charges.append(Charge("custom metrics it publishes (Hits, Requests)", "cloudwatch/metric-month", 2))
    return charges


# --- observability ----------------------------------------------------------------------------


@rule("aws:cloudwatch/logGroup:LogGroup")
def log_group(r: Mapping, ctx: Context) -> list[Charge]:
    """Ingestion (WAF and flow logs from the traffic, the control plane's and the rest from
    usage) and what the retention keeps stored, compressed (at most a year's worth counted)."""
    ingest = _log_volume(r, ctx)
    months = min(number(r["inputs"].get("retentionInDays"), 365.0) or 365.0, 365.0) / 30.4
    ratio = ctx.usage.log_storage_ratio
    return [
        Charge("log ingestion", "cloudwatch/logs-ingest-gb", ingest),
        Charge(
            f"stored for {months:.0f} month(s), compressed",
            "cloudwatch/logs-storage-gb-month",
            (lambda p: ingest(p) * months * ratio) if callable(ingest) else ingest * months * ratio,
        ),
    ]


def _log_volume(r: Mapping, ctx: Context) -> Quantity:
    u, name = ctx.usage, r["inputs"].get("name") or ""
    for logging in ctx.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"):
        if any(str(d).endswith(f":{r['name']}") for d in logging["inputs"].get("logDestinationConfigs") or []):
            edge = any(
                f"/{acl['name']}/" in str(logging["inputs"].get("resourceArn"))
                and acl["inputs"].get("scope") == "CLOUDFRONT"
                for acl in ctx.of_type("aws:wafv2/webAcl:WebAcl")
            )
            return lambda p: _acl_requests(ctx, p, edge) * u.waf_log_kib_per_request / (1024 * 1024)
    for flow in ctx.of_type("aws:ec2/flowLog:FlowLog"):
        if str(flow["inputs"].get("logDestination", "")).endswith(f":{r['name']}"):
            return lambda p: (
                u.flow_log_gb_per_traffic_gb * (u.nat_gb_per_vcpu * _node_vcpu(ctx, p) + ctx.traffic(p).alb_gb)
            )
    return u.control_plane_log_gb if name.startswith("/aws/eks/") else u.log_gb_per_group


@rule("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(r: Mapping, ctx: Context) -> list[Charge]:
    """Standard-resolution alarms bill per metric they read (a metric-math alarm per metric)."""
    queries = [q for q in r["inputs"].get("metricQueries") or [] if isinstance(q, Mapping)]
    metrics = sum(1 for q in queries if "metric" in q) or 1
    periods = [number(q.get("metric", {}).get("period"), 60) for q in queries] or [
        number(r["inputs"].get("period"), 60)
    ]
    high = min(periods) < 60
    key = "cloudwatch/high-resolution-alarm-metric-month" if high else "cloudwatch/alarm-metric-month"
    return [Charge(f"{metrics} metric(s)", key, metrics)]


@rule("aws:cloudwatch/dashboard:Dashboard")
def dashboard(r: Mapping, ctx: Context) -> list[Charge]:
    return [Charge("dashboard", "cloudwatch/dashboard-month", 1)]


@rule("aws:synthetics/canary:Canary")
def canary(r: Mapping, ctx: Context) -> list[Charge]:
    """Runs a month from its schedule, and the two metrics our checks publish."""
    expression = at(r["inputs"], "schedule", "expression") or "rate(5 minutes)"
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    minutes = (int(match.group(1)) * (60 if match.group(2).startswith("hour") else 1)) if match else 5
    runs = HOURS_PER_MONTH * 60 / minutes
    charges = [Charge(f"{runs:,.0f} runs", "synthetics/canary-run", runs)]
    if "METRIC_NAMESPACE" in (at(r["inputs"], "runConfig", "environmentVariables") or {}):
        charges.append(Charge("custom metrics (latency, success)", "cloudwatch/metric-month", 2))
    return charges


@rule("aws:budgets/budget:Budget")
def budget(r: Mapping, ctx: Context) -> list[Charge]:
    """Counted as paid: the account's two free budgets may be in use elsewhere."""
    return [Charge("budget", "budgets/budget-day", DAYS_PER_MONTH)]


# --- storage, keys, secrets, queues -----------------------------------------------------------


@rule("aws:s3/bucket:Bucket")
def bucket(r: Mapping, ctx: Context) -> list[Charge]:
    u = ctx.usage
    return [
        Charge(f"{u.s3_gb_per_bucket:g} GB Standard", "s3/standard-gb-month", u.s3_gb_per_bucket),
        Charge(
            f"{u.s3_requests_per_bucket:,.0f} requests (at the PUT price)",
            "s3/1k-put-requests",
            u.s3_requests_per_bucket / 1000,
        ),
    ]


@rule("aws:kms/key:Key")
def kms_key(r: Mapping, ctx: Context) -> list[Charge]:
    requests = ctx.usage.kms_requests_per_key
    return [
        Charge("customer managed key", "kms/key-month", 1),
        Charge(f"{requests:,.0f} requests", "kms/10k-requests", requests / 1e4),
    ]


@rule("aws:secretsmanager/secret:Secret")
def secret(r: Mapping, ctx: Context) -> list[Charge]:
    calls = ctx.usage.secret_calls_per_secret
    return [
        Charge("secret", "secretsmanager/secret-month", 1),
        Charge(f"{calls:,.0f} API calls", "secretsmanager/10k-calls", calls / 1e4),
    ]


@rule("aws:sqs/queue:Queue")
def queue(r: Mapping, ctx: Context) -> list[Charge]:
    requests = ctx.usage.sqs_requests
    return [Charge(f"{requests:,.0f} requests", "sqs/1m-requests", requests / 1e6)]
