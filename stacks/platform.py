"""Composes the platform from validated config. The only place that creates providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.compute.eks_cluster import EksCluster
from components.delivery.access import resource_prefix
from components.edge.cdn import Cdn
from components.edge.certificate import EDGE_REGION
from components.network.vpc import Network, NetworkArgs
from components.observability.cloudwatch_dashboard import CloudWatchDashboard

from . import applications, compute, data, edge, observability
from .applications import Applications
from .context import DataTier, StackContext
from .loader import ConfigError, config_key
from .observability import AlarmTopics
from .schema import PlatformConfig


def build_platform(config: PlatformConfig) -> dict[str, Any]:
    """Register every component of one environment; returns the stack outputs."""
    project = pulumi.get_project()
    tags = aws.ProviderDefaultTagsArgs(tags=config.required_tags(project))
    # The deploy role may create no IAM role without its environment's boundary (bootstrap/).
    pulumi.runtime.register_stack_transformation(with_permissions_boundary(config.delivery.permissions_boundary_arn))
    regional = aws.Provider("aws", region=config.region, default_tags=tags)
    ctx = StackContext(
        prefix=resource_prefix(config.environment),
        config=config,
        regional=regional,
        # CloudFront's certificate and web ACL can only live in us-east-1.
        edge=aws.Provider("aws-edge", region=EDGE_REGION, default_tags=tags),
        account_id=aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=regional)).account_id,
        resource_tags=config.required_tags(project),
    )
    network = Network(
        ctx.prefix,
        ctx.args(
            config.network,
            NetworkArgs,
            availability_zones=_availability_zones(config, regional, project),
            private_subnet_tags=ctx.discovery,
            data_client_group_tags=ctx.discovery,
        ),
        opts=ctx.on_aws(),
    )
    stores = data.data_tier(ctx, network)
    tier = compute.compute(ctx, network)
    topics = observability.alarm_topics(ctx)
    observability.cost_guards(ctx, topics)
    apps = applications.applications(ctx, network, stores, tier, topics.alert_destinations())
    # CloudFront's API origin is the ALB, by the name its certificate carries.
    # The load test's generators reach CloudFront from the NAT addresses: spare them the rate limit.
    generators = [pulumi.Output.concat(ip, "/32") for ip in network.nat_public_ips] if config.load_test.enabled else []
    cdn = edge.cdn(ctx, apps.ingress.origin_domain, apps.ingress.origin_secret, generators)
    dashboard = observability.alarms(ctx, topics, network, stores, apps.ingress.load_balancer_arn_suffix, cdn)
    return PlatformParts(ctx.prefix, config, network, stores, tier.cluster, apps, cdn, topics, dashboard).outputs()


@dataclass(frozen=True)
class PlatformParts:
    """What one environment registered, tier by tier: the stack outputs are read off it."""

    prefix: str
    config: PlatformConfig
    network: Network
    data: DataTier
    cluster: EksCluster
    apps: Applications
    cdn: Cdn
    topics: AlarmTopics
    dashboard: CloudWatchDashboard

    def outputs(self) -> dict[str, Any]:
        return {
            "region": self.config.region,
            "vpcId": self.network.vpc_id,
            "availabilityZones": self.network.availability_zones,
            "privateSubnetIds": self.network.private_subnet_ids,
            "natPublicIps": self.network.nat_public_ips,
            "dbPrimaryEndpoint": self.data.database.primary_endpoint,
            "dbReplicaEndpoints": self.data.database.replica_endpoints,
            "dbSecretArn": self.data.database.secret_arn,
            "dbMaxConnections": self.data.database.max_connections,
            **{f"redis{role.title()}Endpoint": cache.primary_endpoint for role, cache in self.data.caches.items()},
            "searchEndpoint": self.data.search.endpoint,
            "clusterName": self.cluster.name,
            "clusterEndpoint": self.cluster.endpoint,
            "kubeconfig": self.cluster.kubeconfig,
            "pgbouncerServerConnections": self.apps.pgbouncer.server_connections,
            "pgbouncerServerConnectionLimits": self.apps.pgbouncer.server_connection_limits,
            "albHostname": self.apps.ingress.alb_hostname,
            "apiOriginDomain": self.apps.ingress.origin_domain,
            "cdnDomainName": self.cdn.domain_name,
            "cdnDistributionId": self.cdn.distribution_id,
            "odooUrl": f"https://{self.cdn.odoo_host}",
            "staticBucketName": self.cdn.static_bucket_name,
            # What `make verify` reads CloudWatch by.
            "albArnSuffix": self.apps.ingress.load_balancer_arn_suffix,
            "dbInstanceIdentifiers": self.data.database.instance_identifiers,
            "redisMemberClusters": {role: cache.member_clusters for role, cache in self.data.caches.items()},
            "alarmTopicArn": self.topics.regional.topic_arn,
            "warningTopicArn": self.topics.regional_warnings.topic_arn,
            "alarmNamePrefix": self.prefix,
            "cloudwatchDashboard": self.dashboard.dashboard_name,
        }


def with_permissions_boundary(boundary_arn: str) -> pulumi.ResourceTransformation:
    """Every IAM role the stack creates carries the environment's permissions boundary: one
    place, so no component has to remember it and none can leave it out. (Its name starts with
    the stack's prefix, the only roles the boundary lets it create, pass and re-trust.)"""

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != "aws:iam/role:Role":
            return None
        return pulumi.ResourceTransformationResult({**args.props, "permissions_boundary": boundary_arn}, args.opts)

    return transformation


def _availability_zones(config: PlatformConfig, provider: aws.Provider, project: str) -> list[str]:
    zones = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=pulumi.InvokeOptions(provider=provider),
    ).names
    wanted = config.network.az_count
    if len(zones) < wanted:
        raise ConfigError(
            [
                f"{config_key(project, 'network')}.azCount = {wanted}: region {config.region} "
                f"has only {len(zones)} standard availability zones; allowed: 2 to {len(zones)}"
            ]
        )
    return sorted(zones)[:wanted]
