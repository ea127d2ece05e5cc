"""Composes the platform from validated config. The only place that creates providers."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.autoscaling import Karpenter, KarpenterArgs, ProvisioningAssumptions
from components.cache import RedisCache, RedisCacheArgs
from components.cdn import Cdn, CdnArgs, SecurityHeaders
from components.cluster import Addon, EksCluster, EksClusterArgs, NodeGroupSizing
from components.database import PostgresDatabase, PostgresDatabaseArgs
from components.edge_certificate import EDGE_REGION
from components.edge_firewall import EdgeFirewallArgs
from components.ingress_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.karpenter_resources import NodePoolSpec
from components.namespace import AppNamespace, AppNamespaceArgs
from components.network import Network, NetworkArgs
from components.pgbouncer import PgBouncer, PgBouncerArgs
from components.redis_parameters import RedisTuning

from .loader import ConfigError, config_key
from .schema import PlatformConfig

APP_NAMESPACE = "smartdairy"
#: Label of the Karpenter pool the applications run on (set by its NodePool template).
APP_NODES = {"node-role.smartdairy.io/pool": "apps"}


def build_platform(config: PlatformConfig) -> dict[str, Any]:
    """Register every component of one environment; returns the stack outputs."""
    project = pulumi.get_project()
    prefix = f"sd-{config.environment}"
    discovery = {"karpenter.sh/discovery": prefix}  # the EKS cluster is named like the prefix
    tags = config.required_tags(project)
    regional = aws.Provider(
        "aws",
        region=config.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    )
    # CloudFront's certificate and web ACL can only live in us-east-1.
    edge = aws.Provider("aws-edge", region=EDGE_REGION, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))

    network = Network(
        prefix,
        NetworkArgs(
            cidr=config.network.cidr,
            availability_zones=_availability_zones(config, regional, project),
            subnets=config.network.subnet_plan(),
            nat_gateway_per_az=config.network.nat_gateways == "per-az",
            flow_log_retention_days=config.network.flow_log_retention_days,
            flow_log_traffic_type=config.network.flow_log_traffic_type,
            private_subnet_tags=discovery,
            data_client_group_tags=discovery,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )

    cdn = config.cdn
    edge_cdn = Cdn(
        f"{prefix}-cdn",
        CdnArgs(
            domain=cdn.domain,
            hosted_zone_id=cdn.hosted_zone_id,
            api_origin_domain=cdn.api_origin_domain or f"origin.{cdn.domain}",
            cache_policies=cdn.cache_policies(f"SmartDairy-{config.environment}"),
            api_origin_request=cdn.api_origin_request(f"SmartDairy-{config.environment}"),
            security_headers=SecurityHeaders(
                content_security_policy=cdn.content_security_policy, frame_options=cdn.frame_options
            ),
            firewall=EdgeFirewallArgs(
                rate_limit=cdn.waf.rate_limit,
                managed_rule_groups=cdn.waf.managed_rule_groups,
                count_only_rules={"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]},
            ),
            edge_provider=edge,
            edge_provider_region=EDGE_REGION,
            price_class=cdn.price_class,
            origin_shield_region=config.region if cdn.origin_shield else None,
            log_retention_days=cdn.access_log_retention_days if cdn.access_logs else None,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )

    database = _database(prefix, config, network, regional)
    caches = _caches(prefix, config, network, regional)
    cluster, kubernetes = _compute(prefix, config, network, regional, discovery)
    on_cluster = pulumi.ResourceOptions(providers=[regional, kubernetes])
    namespace = AppNamespace(f"{prefix}-apps", AppNamespaceArgs(name=APP_NAMESPACE), opts=on_cluster)
    pgbouncer = _pgbouncer(prefix, config, database, namespace, on_cluster)

    return {
        "region": config.region,
        "dbPrimaryEndpoint": database.primary_endpoint,
        "dbReplicaEndpoints": database.replica_endpoints,
        "dbSecretArn": database.secret_arn,
        "dbMaxConnections": database.max_connections,
        **{f"redis{role.title()}Endpoint": cache.primary_endpoint for role, cache in caches.items()},
        "clusterName": cluster.name,
        "clusterEndpoint": cluster.endpoint,
        "kubeconfig": cluster.kubeconfig,
        "pgbouncerServerConnections": pgbouncer.server_connections,
        "pgbouncerServerConnectionLimits": pgbouncer.server_connection_limits,
        "cdnDomainName": edge_cdn.domain_name,
        "cdnDistributionId": edge_cdn.distribution_id,
        "staticBucketName": edge_cdn.static_bucket_name,
        "vpcId": network.vpc_id,
        "availabilityZones": network.availability_zones,
        "privateSubnetIds": network.private_subnet_ids,
        "natPublicIps": network.nat_public_ips,
    }


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


def _database(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> PostgresDatabase:
    db = config.database
    return PostgresDatabase(
        f"{prefix}-db",
        PostgresDatabaseArgs(
            vpc_id=network.vpc_id,
            subnet_group_name=network.db_subnet_group_name,
            availability_zones=network.availability_zones,
            client_security_groups={"data-clients": network.data_client_security_group_id},
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            tuning=db.tuning(),
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            iops=db.iops,
            storage_throughput_mbps=db.storage_throughput_mbps,
            replica_count=db.replicas,
            replica_instance_class=db.replica_instance_class,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            backup_window=db.backup_window,
            maintenance_window=db.maintenance_window,
            deletion_protection=db.deletion_protection,
            final_snapshot=db.final_snapshot,
            performance_insights_retention_days=db.performance_insights_retention_days,
            monitoring_interval_s=db.monitoring_interval_s,
            secret_recovery_window_days=db.secret_recovery_window_days,
            protect=config.protect_stateful_resources,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def _caches(prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider) -> dict[str, RedisCache]:
    """One group per role: `split` gives sessions their own noeviction group."""
    cache = config.cache
    roles = ("sessions", "cache") if cache.layout == "split" else ("shared",)
    return {
        role: RedisCache(
            f"{prefix}-redis-{role}",
            RedisCacheArgs(
                vpc_id=network.vpc_id,
                subnet_group_name=network.cache_subnet_group_name,
                client_security_groups={"data-clients": network.data_client_security_group_id},
                engine=cache.engine,
                engine_version=cache.engine_version,
                node_type=(cache.sessions_node_type or cache.node_type) if role == "sessions" else cache.node_type,
                tuning=RedisTuning(
                    role=role,
                    idle_client_timeout_s=cache.idle_client_timeout_s,
                    slowlog_threshold_us=cache.slowlog_threshold_us,
                    cluster_mode=cache.shards > 1,
                ),
                shards=cache.shards,
                replicas_per_shard=cache.replicas_per_shard,
                snapshot_retention_days=cache.snapshot_retention_days,
                snapshot_window=cache.snapshot_window,
                maintenance_window=cache.maintenance_window,
                log_retention_days=cache.log_retention_days,
                final_snapshot=cache.final_snapshot,
                secret_recovery_window_days=config.database.secret_recovery_window_days,
                protect=config.protect_stateful_resources,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for role in roles
    }


def _compute(
    prefix: str, config: PlatformConfig, network: Network, provider: aws.Provider, discovery: dict[str, str]
) -> tuple[EksCluster, k8s.Provider]:
    """EKS, then a Kubernetes provider built from its outputs, then what runs on it."""
    spec = config.cluster
    cluster = EksCluster(
        prefix,
        EksClusterArgs(
            cluster_name=prefix,
            kubernetes_version=spec.kubernetes_version,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            node_security_group_ids=[network.data_client_security_group_id],
            system_nodes=NodeGroupSizing(
                instance_types=spec.system_nodes.instance_types,
                min_size=spec.system_nodes.min_size,
                desired_size=spec.system_nodes.desired_size,
                max_size=spec.system_nodes.max_size,
                disk_gb=spec.system_nodes.disk_gb,
            ),
            addons=_addons(spec),
            public_access_cidrs=spec.public_access_cidrs,
            admin_principal_arns=spec.admin_principal_arns,
            log_retention_days=spec.log_retention_days,
            protect=config.protect_stateful_resources,
            cluster_security_group_tags=discovery,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    # The only Kubernetes provider: default providers for kubernetes are disabled in the stack
    # files, so nothing can fall back to a local kube context.
    kubernetes = k8s.Provider("eks", kubeconfig=cluster.kubeconfig, enable_server_side_apply=True)
    on_cluster = pulumi.ResourceOptions(providers=[provider, kubernetes])

    karpenter = spec.karpenter
    Karpenter(
        f"{prefix}-karpenter",
        KarpenterArgs(
            cluster_name=cluster.name,
            cluster_endpoint=cluster.endpoint,
            node_role_name=cluster.node_role_name,
            node_role_arn=cluster.node_role_arn,
            discovery_tag=discovery["karpenter.sh/discovery"],
            node_pools=[
                NodePoolSpec(
                    name=pool.name,
                    capacity_types=pool.capacity_types,
                    instance_categories=pool.instance_categories,
                    min_generation=pool.min_generation,
                    architectures=pool.architectures,
                    cpu_limit=pool.cpu_limit,
                    memory_limit_gi=pool.memory_limit_gi,
                    consolidate_after=pool.consolidate_after,
                    disruption_budget=pool.disruption_budget,
                    expire_after=pool.expire_after,
                    weight=pool.weight,
                )
                for pool in karpenter.node_pools
            ],
            chart_version=karpenter.chart_version,
            ami_alias=karpenter.ami_alias,
            controller_replicas=karpenter.controller_replicas,
            assumptions=ProvisioningAssumptions(
                node_launch_to_ready_s=karpenter.node_launch_to_ready_s,
                image_pull_and_start_s=karpenter.image_pull_and_start_s,
            ),
        ),
        opts=on_cluster,
    )
    LoadBalancerController(
        f"{prefix}-alb-controller",
        LoadBalancerControllerArgs(
            cluster_name=cluster.name,
            vpc_id=network.vpc_id,
            region=config.region,
            chart_version=spec.load_balancer_controller.chart_version,
            image_tag=spec.load_balancer_controller.image_tag,
        ),
        opts=on_cluster,
    )
    return cluster, kubernetes


def _addons(spec) -> list[Addon]:
    versions = spec.addons
    system_toleration = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    return [
        Addon(
            "vpc-cni",
            versions.vpc_cni,
            service_account="aws-node",
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
            before_nodes=True,
        ),
        Addon("kube-proxy", versions.kube_proxy, before_nodes=True),
        Addon("eks-pod-identity-agent", versions.pod_identity_agent, before_nodes=True),
        Addon("coredns", versions.coredns, configuration={"replicaCount": 2, "tolerations": system_toleration}),
        Addon(
            "aws-ebs-csi-driver",
            versions.ebs_csi_driver,
            service_account="ebs-csi-controller-sa",
            managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
            configuration={"controller": {"tolerations": system_toleration}},
        ),
        Addon(
            "metrics-server", versions.metrics_server, configuration={"replicas": 2, "tolerations": system_toleration}
        ),
    ]


def _pgbouncer(
    prefix: str,
    config: PlatformConfig,
    database: PostgresDatabase,
    namespace: AppNamespace,
    opts: pulumi.ResourceOptions,
) -> PgBouncer:
    pool = config.pgbouncer
    return PgBouncer(
        f"{prefix}-pgbouncer",
        PgBouncerArgs(
            namespace=namespace.name,
            database=database.database_name,
            primary_host=database.primary_endpoint,
            replica_hosts=database.replica_endpoints,
            port=database.port,
            username=database.master_username,
            password=database.master_password,
            roles=pool.roles(),
            timeouts=pool.timeouts(),
            budget=config.connection_budget(),
            image=pool.image,
            exporter_image=pool.exporter_image,
            resources={
                "requests": {"cpu": pool.cpu_request, "memory": pool.memory_request},
                "limits": {"cpu": pool.cpu_limit, "memory": pool.memory_limit},
            },
            node_selector=APP_NODES,
        ),
        opts=opts,
    )
