"""Observability composition: the alarm topics (before the apps: Alertmanager routes to the
regional one), then the CloudWatch alarms and dashboard once every resource they watch exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data.postgres import PostgresDatabase
from components.data.redis import RedisCache
from components.data.search import SearchDomain
from components.edge.cdn import Cdn
from components.network.vpc import Network
from components.observability.alarm_specs import (
    AlarmSpec,
    AlarmThresholds,
    alb_alarms,
    cache_alarms,
    cdn_alarms,
    nat_alarms,
    rds_alarms,
    search_alarms,
)
from components.observability.alarm_topic import AlarmTopic, AlarmTopicArgs
from components.observability.cloudwatch_alarms import CloudWatchAlarms, CloudWatchAlarmsArgs
from components.observability.cloudwatch_dashboard import CloudWatchDashboard, CloudWatchDashboardArgs

from .schema import PlatformConfig
from .wiring import args_from


@dataclass
class AlarmTopics:
    regional: AlarmTopic
    #: CloudFront's metrics exist only in us-east-1, and an alarm notifies topics of its region.
    edge: AlarmTopic


def alarm_topics(
    prefix: str, config: PlatformConfig, account_id: pulumi.Input[str], regional: aws.Provider, edge: aws.Provider
) -> AlarmTopics:
    def topic(name: str, provider: aws.Provider) -> AlarmTopic:
        return AlarmTopic(
            name,
            args_from(
                config.monitoring.notifications,
                AlarmTopicArgs,
                account_id=account_id,
                protect=config.protect_stateful_resources,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return AlarmTopics(regional=topic(f"{prefix}-alarms", regional), edge=topic(f"{prefix}-edge-alarms", edge))


def alarms(
    prefix: str,
    config: PlatformConfig,
    topics: AlarmTopics,
    network: Network,
    database: PostgresDatabase,
    caches: dict[str, RedisCache],
    search: SearchDomain,
    account_id: pulumi.Input[str],
    load_balancer: pulumi.Input[str],
    cdn: Cdn,
    regional: aws.Provider,
    edge: aws.Provider,
) -> CloudWatchDashboard:
    """The alarms of both regions and the console dashboard; returns the dashboard."""
    thresholds = args_from(config.monitoring.alarms, AlarmThresholds)
    replicas = [role for role in database.instance_identifiers if role != "primary"]
    regional_specs: list[AlarmSpec] = [
        *rds_alarms(thresholds, database.instance_identifiers, replicas, database.max_connections),
        *(
            spec
            for role, cache in caches.items()
            for spec in cache_alarms(thresholds, role, cache.member_clusters, cache.eviction_policy)
        ),
        *search_alarms(thresholds, search.domain_name, account_id),
        *alb_alarms(thresholds, load_balancer),
        *nat_alarms(thresholds, network.nat_gateway_ids),
    ]
    groups = [
        ("alarms", regional_specs, topics.regional, regional),
        ("edge-alarms", cdn_alarms(thresholds, cdn.distribution_id), topics.edge, edge),
    ]
    registered = [
        CloudWatchAlarms(
            f"{prefix}-{name}",
            CloudWatchAlarmsArgs(name_prefix=prefix, alarms=specs, thresholds=thresholds, topic_arn=topic.topic_arn),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for name, specs, topic, provider in groups
    ]
    return CloudWatchDashboard(
        f"{prefix}-slo-dashboard",
        CloudWatchDashboardArgs(
            name=f"{prefix}-slo",
            region=config.region,
            thresholds=thresholds,
            load_balancer=load_balancer,
            distribution_id=cdn.distribution_id,
            db_instances=database.instance_identifiers,
            cache_members={role: cache.member_clusters for role, cache in caches.items()},
            alarm_arns=[arn for group in registered for arn in group.alarm_arns],
        ),
        opts=pulumi.ResourceOptions(providers=[regional]),
    )
