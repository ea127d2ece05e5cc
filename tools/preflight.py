"""`make preflight STACK=<name>`: what the AWS account would refuse, before the first `pulumi up`.

Read-only (Describe/Get/List calls only) against the account and region of the caller's
credentials. Each problem is one line naming the stack config key to change:

- the stack file is still a template (`example: true`);
- the hosted zone exists, is public and holds the CDN domain;
- the deployer and admin principals exist in this account;
- RDS offers the engine version and instance classes in the chosen zones;
- ElastiCache offers the engine version and node types;
- EKS supports the Kubernetes version and every pinned add-on version for it;
- EC2 offers the system node instance types in every chosen zone;
- Karpenter's pinned AMI alias resolves (the SSM parameter Karpenter itself reads);
- the stack fits the service quotas it consumes (VPCs, Elastic IPs, ElastiCache nodes);
- OpenSearch's service-linked role exists, or the stack is set to create it.

Exit 0 when clean, 1 on problems, 2 when the config itself is invalid.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.delivery.service_linked_roles import PLATFORM_SERVICE_ROLES
from components.observability.cost_guards import ENVIRONMENT_TAG
from stacks.compute import ADDON_NAMES
from stacks.loader import ConfigError, config_key
from stacks.schema import PlatformConfig
from stacks.stack_file import load_stack

#: Service quotas the stack consumes, looked up by name (codes differ between partitions);
#: the value used when the account reports none is AWS's documented default.
QUOTAS = {
    "vpcs": ("vpc", "VPCs per Region", 5),
    "elastic_ips": ("ec2", "EC2-VPC Elastic IPs", 5),
    "cache_nodes": ("elasticache", "Nodes per Region", 300),
}


@dataclass(frozen=True)
class Clients:
    sts: Any
    route53: Any
    iam: Any
    ec2: Any
    rds: Any
    elasticache: Any
    eks: Any
    ssm: Any
    quotas: Any
    ce: Any

    @classmethod
    def for_region(cls, region: str, session=None) -> Clients:
        import boto3

        session = session or boto3.Session(region_name=region)
        return cls(
            **{
                field: session.client(service, region_name=region)
                for field, service in {
                    "sts": "sts",
                    "route53": "route53",
                    "iam": "iam",
                    "ec2": "ec2",
                    "rds": "rds",
                    "elasticache": "elasticache",
                    "eks": "eks",
                    "ssm": "ssm",
                    "quotas": "service-quotas",
                    "ce": "ce",
                }.items()
            }
        )


class Preflight:
    """Runs every check against one stack's validated config; `problems()` lists what AWS would refuse."""

    def __init__(self, config: PlatformConfig, project: str, aws: Clients):
        self.config, self.project, self.aws = config, project, aws

    def key(self, section: str, path: str = "") -> str:
        return config_key(self.project, section) + (f".{path}" if path else "")

    def problems(self) -> list[str]:
        checks: list[Callable[[], Iterator[str]]] = [
            self.template,
            self.hosted_zone,
            self.principals,
            self.database,
            self.cache,
            self.kubernetes,
            self.instance_types,
            self.node_image,
            self.quotas,
            self.service_roles,
            self.cost_allocation_tag,
        ]
        return [problem for check in checks for problem in check()]

    # --- checks -------------------------------------------------------------------------------

    def template(self) -> Iterator[str]:
        if self.config.example:
            yield (
                f"{self.key('example')} = true: the stack file is still a template; "
                "replace its placeholders and remove the key"
            )

    def hosted_zone(self) -> Iterator[str]:
        cdn, key = self.config.cdn, self.key("cdn", "hostedZoneId")
        try:
            zone = self.aws.route53.get_hosted_zone(Id=cdn.hosted_zone_id)["HostedZone"]
        except ClientError as error:
            yield f"{key} = {cdn.hosted_zone_id!r}: no such hosted zone in this account ({_code(error)})"
            return
        name = zone["Name"].rstrip(".")
        if zone.get("Config", {}).get("PrivateZone"):
            yield f"{key} = {cdn.hosted_zone_id!r}: {name} is a private zone; CloudFront and ACM need a public one"
        if cdn.domain != name and not cdn.domain.endswith(f".{name}"):
            yield f"{self.key('cdn', 'domain')} = {cdn.domain!r}: not in hosted zone {cdn.hosted_zone_id} ({name})"

    def principals(self) -> Iterator[str]:
        cluster, delivery = self.config.cluster, self.config.delivery
        account = self.aws.sts.get_caller_identity()["Account"]
        named = [("delivery", "deployRoleArn", delivery.deploy_role_arn)]
        named += [("delivery", "previewRoleArn", delivery.preview_role_arn)]
        named += [("cluster", f"adminPrincipalArns[{i}]", arn) for i, arn in enumerate(cluster.admin_principal_arns)]
        for section, path, arn in named:
            key = self.key(section, path)
            arn_account, kind, name = arn.split(":")[4], arn.split(":")[5].split("/")[0], arn.rsplit("/", 1)[-1]
            if arn_account != account:
                yield f"{key} = {arn!r}: account {arn_account} is not the deploying account {account}"
                continue
            try:
                if kind == "role":
                    self.aws.iam.get_role(RoleName=name)
                else:
                    self.aws.iam.get_user(UserName=name)
            except ClientError as error:
                yield f"{key} = {arn!r}: no such IAM {kind} ({_code(error)})"

    def database(self) -> Iterator[str]:
        db = self.config.database
        zones = set(self.zones())
        classes = {"instanceClass": db.instance_class}
        if db.replica_instance_class:
            classes["replicaInstanceClass"] = db.replica_instance_class
        for path, instance_class in classes.items():
            options = [
                option
                for page in self.aws.rds.get_paginator("describe_orderable_db_instance_options").paginate(
                    Engine="postgres", DBInstanceClass=instance_class
                )
                for option in page["OrderableDBInstanceOptions"]
                if _same_version(option["EngineVersion"], db.engine_version) and option.get("StorageType") == "gp3"
            ]
            if not options:
                yield (
                    f"{self.key('database', path)} = {instance_class!r}: RDS offers no PostgreSQL "
                    f"{db.engine_version} on gp3 with it in {self.config.region}"
                )
                continue
            offered = {zone["Name"] for option in options for zone in option.get("AvailabilityZones", [])}
            missing = sorted(zones - offered) if offered else []
            if missing:
                yield f"{self.key('database', path)} = {instance_class!r}: not offered in {', '.join(missing)}"

    def cache(self) -> Iterator[str]:
        cache = self.config.cache
        versions = self.aws.elasticache.describe_cache_engine_versions(
            Engine=cache.engine, EngineVersion=cache.engine_version
        )["CacheEngineVersions"]
        if not versions:
            key = self.key("cache", "engineVersion")
            yield f"{key} = {cache.engine_version!r}: ElastiCache offers no {cache.engine} {cache.engine_version}"
        node_types = {"nodeType": cache.node_type}
        if cache.sessions_node_type:
            node_types["sessionsNodeType"] = cache.sessions_node_type
        for path, node_type in node_types.items():
            offerings = self.aws.elasticache.describe_reserved_cache_nodes_offerings(CacheNodeType=node_type)
            if not offerings["ReservedCacheNodesOfferings"]:
                key = self.key("cache", path)
                yield f"{key} = {node_type!r}: not a node type ElastiCache offers in {self.config.region}"

    def kubernetes(self) -> Iterator[str]:
        cluster = self.config.cluster
        version = cluster.kubernetes_version
        found = self.aws.eks.describe_cluster_versions(clusterVersions=[version])["clusterVersions"]
        if not any(v.get("versionStatus") == "STANDARD_SUPPORT" for v in found):
            key = self.key("cluster", "kubernetesVersion")
            yield f"{key} = {version!r}: not in EKS standard support in {self.config.region}"
            return
        for field, pinned in cluster.addons.model_dump().items():
            addon = type(cluster.addons).model_fields[field].alias or field
            name = ADDON_NAMES[field]
            listed = self.aws.eks.describe_addon_versions(addonName=name, kubernetesVersion=version)["addons"]
            offered = {v["addonVersion"] for a in listed for v in a.get("addonVersions", [])}
            if pinned not in offered:
                newest = sorted(offered)[-3:] if offered else "none"
                key = self.key("cluster", f"addons.{addon}")
                yield f"{key} = {pinned!r}: no such {name} build for Kubernetes {version} (newest offered: {newest})"

    def instance_types(self) -> Iterator[str]:
        types = self.config.cluster.system_nodes.instance_types
        offerings = self.aws.ec2.describe_instance_type_offerings(
            LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": list(types)}]
        )["InstanceTypeOfferings"]
        offered = {(o["InstanceType"], o["Location"]) for o in offerings}
        for instance_type in types:
            missing = [zone for zone in self.zones() if (instance_type, zone) not in offered]
            if missing:
                key = self.key("cluster", "systemNodes.instanceTypes")
                yield f"{key}: {instance_type} is not offered in {', '.join(missing)}"

    def node_image(self) -> Iterator[str]:
        """The SSM parameter Karpenter resolves the alias through (amifamily/al2023.go)."""
        karpenter = self.config.cluster.karpenter
        family, version = karpenter.ami_alias.split("@")
        if family != "al2023" or version == "latest":
            return
        k8s = self.config.cluster.kubernetes_version
        arch = {"amd64": "x86_64", "arm64": "arm64"}
        for architecture in sorted({a for pool in karpenter.node_pools for a in pool.architectures}):
            name = f"amazon-eks-node-al2023-{arch[architecture]}-standard-{k8s}-{version}"
            parameter = f"/aws/service/eks/optimized-ami/{k8s}/amazon-linux-2023/{arch[architecture]}/standard/{name}"
            try:
                self.aws.ssm.get_parameter(Name=f"{parameter}/image_id")
            except ClientError as error:
                key = self.key("cluster", "karpenter.amiAlias")
                why = f"no {architecture} image for Kubernetes {k8s} ({_code(error)} {parameter}/image_id)"
                yield f"{key} = {karpenter.ami_alias!r}: {why}"

    def quotas(self) -> Iterator[str]:
        network, cache = self.config.network, self.config.cache
        groups = 2 if cache.layout == "split" else 1
        needs = {
            "vpcs": (1, len(self.aws.ec2.describe_vpcs()["Vpcs"]), "network"),
            "elastic_ips": (
                network.az_count if network.nat_gateways == "per-az" else 1,
                len(self.aws.ec2.describe_addresses()["Addresses"]),
                "network.natGateways",
            ),
            "cache_nodes": (
                groups * cache.shards * (cache.replicas_per_shard + 1),
                sum(c.get("NumCacheNodes", 1) for c in self.aws.elasticache.describe_cache_clusters()["CacheClusters"]),
                "cache",
            ),
        }
        for quota, (needed, used, key) in needs.items():
            service, name, default = QUOTAS[quota]
            limit = self.quota(service, name, default)
            if used + needed > limit:
                section, _, path = key.partition(".")
                why = f"needs {needed} more of '{name}' ({used} used of {limit:g}); request an increase first"
                yield f"{self.key(section, path)}: {why}"

    # --- lookups ------------------------------------------------------------------------------

    def zones(self) -> list[str]:
        """The zones the program picks: the first azCount standard zones, sorted by name."""
        found = self.aws.ec2.describe_availability_zones(
            Filters=[
                {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
                {"Name": "state", "Values": ["available"]},
            ]
        )["AvailabilityZones"]
        return sorted(zone["ZoneName"] for zone in found)[: self.config.network.az_count]

    def quota(self, service: str, name: str, default: float) -> float:
        quotas = self.aws.quotas.list_service_quotas(ServiceCode=service)["Quotas"]
        return next((q["Value"] for q in quotas if q["QuotaName"] == name), default)

    def cost_allocation_tag(self) -> Iterator[str]:
        """The budget and the anomaly monitor select the stack's spend by its Environment tag,
        which Billing must have activated. A tag AWS has not seen yet (an empty account: it
        lists a tag a day after the first resource carries it) is not a problem yet."""
        try:
            tags = self.aws.ce.list_cost_allocation_tags(TagKeys=[ENVIRONMENT_TAG], Type="UserDefined")
        except ClientError as error:
            # A member account of an organization: its management account owns the tags.
            if _code(error) != "AccessDeniedException":
                raise
            return
        if _inactive(tags.get("CostAllocationTags", []), ENVIRONMENT_TAG):
            yield (
                f"{self.key('cost')}: the cost allocation tag {ENVIRONMENT_TAG} is inactive, so the budget and the "
                "anomaly monitor see no spend; activate it (Billing > Cost allocation tags, or `aws ce "
                "update-cost-allocation-tags-status --cost-allocation-tags-status "
                f"TagKey={ENVIRONMENT_TAG},Status=Active`)"
            )

    def service_roles(self) -> Iterator[str]:
        """The account's service-linked roles this stack needs and the bootstrap makes: the
        search domain's always, Spot's when a NodePool may launch spot capacity."""
        needed = {"opensearchservice.amazonaws.com"}
        if any("spot" in pool.capacity_types for pool in self.config.cluster.karpenter.node_pools):
            needed.add("spot.amazonaws.com")
        for service in sorted(needed):
            role = PLATFORM_SERVICE_ROLES[service]
            try:
                self.aws.iam.get_role(RoleName=role)
            except ClientError as error:
                if _code(error) != "NoSuchEntity":
                    raise
                yield (
                    f"smartdairy-bootstrap:serviceLinkedRoles: the account has no {role}; "
                    f"run the bootstrap with {service} in the list"
                )


def _inactive(tags: list[dict], key: str) -> bool:
    return any(tag["TagKey"] == key and tag["Status"] != "Active" for tag in tags)


def _same_version(offered: str, wanted: str) -> bool:
    return offered == wanted or offered.startswith(f"{wanted}.")


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "error")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name; reads Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    try:
        config, project = load_stack(args.stack)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    problems = Preflight(config, project, Clients.for_region(config.region)).problems()
    for problem in problems:
        print(problem)
    print(f"preflight {args.stack}: {len(problems)} problem(s)" if problems else f"preflight {args.stack}: ready")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
