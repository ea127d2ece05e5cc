"""Observability composition: the alarm topics (before the apps: Alertmanager routes to the
regional one), then the CloudWatch alarms and dashboard once every resource they watch exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.edge.cdn import Cdn
from components.network.vpc import Network
from components.observability.alarm_specs import (
    AlarmSpec,
    alb_alarms,
    cache_alarms,
    cdn_alarms,
    function_alarms,
    nat_alarms,
    rds_alarms,
    search_alarms,
)
from components.observability.alarm_topic import AlarmTopic, AlarmTopicArgs
from components.observability.cloudwatch_alarms import CloudWatchAlarms, CloudWatchAlarmsArgs
from components.observability.cloudwatch_dashboard import CloudWatchDashboard, CloudWatchDashboardArgs

from .context import DataTier, StackContext


@dataclass
class AlarmTopics:
    regional: AlarmTopic
    #: CloudFront's metrics exist only in us-east-1, and an alarm notifies topics of its region.
    edge: AlarmTopic


def alarm_topics(ctx: StackContext) -> AlarmTopics:
    def topic(name: str, provider: aws.Provider) -> AlarmTopic:
        return AlarmTopic(
            name,
            ctx.args(ctx.config.monitoring.notifications, AlarmTopicArgs),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return AlarmTopics(
        regional=topic(f"{ctx.prefix}-alarms", ctx.regional), edge=topic(f"{ctx.prefix}-edge-alarms", ctx.edge)
    )


def alarms(
    ctx: StackContext, topics: AlarmTopics, network: Network, data: DataTier, load_balancer: pulumi.Input[str], cdn: Cdn
) -> CloudWatchDashboard:
    """The alarms of both regions and the console dashboard; returns the dashboard."""
    thresholds = ctx.config.monitoring.alarms
    database = data.database
    replicas = [role for role in database.instance_identifiers if role != "primary"]
    regional_specs: list[AlarmSpec] = [
        *rds_alarms(thresholds, database.instance_identifiers, replicas, database.max_connections),
        *(
            spec
            for role, cache in data.caches.items()
            for spec in cache_alarms(thresholds, role, cache.member_clusters, cache.eviction_policy)
        ),
        *search_alarms(thresholds, data.search.domain_name, ctx.account_id),
        *alb_alarms(thresholds, load_balancer),
        *nat_alarms(thresholds, network.nat_gateway_ids),
        *function_alarms(
            {"credential-rotation": data.rotation.function_name, "search-security": data.search.security_function_name}
        ),
    ]
    groups = [
        ("alarms", regional_specs, topics.regional, ctx.regional),
        ("edge-alarms", cdn_alarms(thresholds, cdn.distribution_id), topics.edge, ctx.edge),
    ]
    registered = [
        CloudWatchAlarms(
            f"{ctx.prefix}-{name}",
            CloudWatchAlarmsArgs(
                name_prefix=ctx.prefix, alarms=specs, thresholds=thresholds, topic_arn=topic.topic_arn
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for name, specs, topic, provider in groups
    ]
    return CloudWatchDashboard(
        f"{ctx.prefix}-slo-dashboard",
        ctx.build(
            CloudWatchDashboardArgs,
            name=f"{ctx.prefix}-slo",
            thresholds=thresholds,
            load_balancer=load_balancer,
            distribution_id=cdn.distribution_id,
            db_instances=database.instance_identifiers,
            cache_members={role: cache.member_clusters for role, cache in data.caches.items()},
            alarm_arns=[arn for group in registered for arn in group.alarm_arns],
        ),
        opts=ctx.on_aws(),
    )
