"""Observability composition: the alarm topics (before the apps: Alertmanager routes to the
regional one), then the CloudWatch alarms and dashboard once every resource they watch exists.
"""

from __future__ import annotations

import dataclasses
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
    synthetic_alarms,
)
from components.observability.alarm_topic import AlarmTopic, AlarmTopicArgs
from components.observability.alert_routing import AlertDestinations
from components.observability.canary import Canaries, CanariesArgs
from components.observability.cloudwatch_alarms import CloudWatchAlarms, CloudWatchAlarmsArgs
from components.observability.cloudwatch_dashboard import CloudWatchDashboard, CloudWatchDashboardArgs
from components.observability.cost_guards import PUBLISHERS, CostGuards, CostGuardsArgs
from components.observability.heartbeat import Heartbeat, HeartbeatArgs
from components.observability.synthetics import SyntheticCheck

from .context import DataTier, StackContext


@dataclass
class AlarmTopics:
    """Pages and warnings, in the stack's region and in us-east-1 (CloudFront's metrics exist
    only there, and an alarm notifies topics of its own region; the billing services publish
    from there too), and the Watchdog's heartbeat."""

    regional: AlarmTopic
    edge: AlarmTopic
    regional_warnings: AlarmTopic
    edge_warnings: AlarmTopic
    heartbeat: Heartbeat

    def alert_destinations(self) -> AlertDestinations:
        """Where Alertmanager (in the stack's region) sends its alerts."""
        return AlertDestinations(
            pages_topic_arn=self.regional.topic_arn,
            warnings_topic_arn=self.regional_warnings.topic_arn,
            heartbeat_topic_arn=self.heartbeat.topic_arn,
            key_arns=[self.regional.key_arn, self.regional_warnings.key_arn],
        )


def alarm_topics(ctx: StackContext) -> AlarmTopics:
    notifications = ctx.config.monitoring.notifications
    pages = ctx.args(notifications, AlarmTopicArgs)
    warnings = ctx.build(
        AlarmTopicArgs, emails=notifications.warning_emails, https_endpoints=notifications.warning_https_endpoints
    )

    def topic(name: str, args: AlarmTopicArgs, provider: aws.Provider) -> AlarmTopic:
        return AlarmTopic(name, args, opts=pulumi.ResourceOptions(providers=[provider]))

    def billing(args: AlarmTopicArgs) -> AlarmTopicArgs:
        """The us-east-1 topics also take the budget's and the anomaly monitor's alerts."""
        return dataclasses.replace(args, publishers=PUBLISHERS)

    regional = topic(f"{ctx.prefix}-alarms", pages, ctx.regional)
    heartbeat = Heartbeat(
        f"{ctx.prefix}-heartbeat",
        HeartbeatArgs(
            alarm_name=f"{ctx.prefix}-alertmanager-heartbeat",
            key_arn=regional.key_arn,
            pages_topic_arn=regional.topic_arn,
        ),
        opts=ctx.on_aws(),
    )
    return AlarmTopics(
        regional=regional,
        edge=topic(f"{ctx.prefix}-edge-alarms", billing(pages), ctx.edge),
        regional_warnings=topic(f"{ctx.prefix}-warnings", warnings, ctx.regional),
        edge_warnings=topic(
            f"{ctx.prefix}-edge-warnings", dataclasses.replace(warnings, publishers=PUBLISHERS), ctx.edge
        ),
        heartbeat=heartbeat,
    )


def cost_guards(ctx: StackContext, topics: AlarmTopics) -> CostGuards:
    """The environment's budget and anomaly monitor, alerting through the us-east-1 topics."""
    return CostGuards(
        f"{ctx.prefix}-cost",
        ctx.args(
            ctx.config.cost,
            CostGuardsArgs,
            name_prefix=ctx.prefix,
            environment=ctx.config.environment,
            warnings_topic_arn=topics.edge_warnings.topic_arn,
            pages_topic_arn=topics.edge.topic_arn,
            topic_policies=[
                t.publishers_policy for t in (topics.edge_warnings, topics.edge) if t.publishers_policy is not None
            ],
        ),
        opts=ctx.on_aws(),
    )


def _canaries(ctx: StackContext) -> list[SyntheticCheck]:
    """The seed's user-side checks, run as canaries when enabled; returns what they measure."""
    canaries = ctx.config.monitoring.canaries
    if not canaries.enabled:
        return []
    checks = ctx.config.synthetic_checks()
    Canaries(
        f"{ctx.prefix}-canaries",
        ctx.args(canaries, CanariesArgs, name_prefix=ctx.prefix, checks=checks),
        opts=ctx.on_aws(),
    )
    return checks


def alarms(
    ctx: StackContext, topics: AlarmTopics, network: Network, data: DataTier, load_balancer: pulumi.Input[str], cdn: Cdn
) -> CloudWatchDashboard:
    """The alarms of both regions and the console dashboard; returns the dashboard."""
    thresholds = ctx.config.monitoring.alarms
    checks = _canaries(ctx)
    database = data.database
    replicas = [role for role in database.instance_identifiers if role != "primary"]
    regional_specs: list[AlarmSpec] = [
        *rds_alarms(thresholds, database.instance_identifiers, replicas, database.max_connections),
        *(
            spec
            for role, cache in data.caches.items()
            for spec in cache_alarms(thresholds, role, cache.member_clusters, cache.eviction_policy)
        ),
        *search_alarms(thresholds, data.search.domain_name, ctx.account_id, ctx.config.search.instance_count),
        *alb_alarms(thresholds, load_balancer),
        *nat_alarms(thresholds, network.nat_gateway_ids),
        *function_alarms(
            {"credential-rotation": data.rotation.function_name, "search-security": data.search.security_function_name}
        ),
        *synthetic_alarms(ctx.prefix, checks, ctx.config.monitoring.canaries.schedule_minutes * 60),
    ]
    groups = [
        ("alarms", regional_specs, topics.regional, topics.regional_warnings, ctx.regional),
        ("edge-alarms", cdn_alarms(thresholds, cdn.distribution_id), topics.edge, topics.edge_warnings, ctx.edge),
    ]
    registered = [
        CloudWatchAlarms(
            f"{ctx.prefix}-{name}",
            CloudWatchAlarmsArgs(
                name_prefix=ctx.prefix,
                alarms=specs,
                thresholds=thresholds,
                topic_arn=pages.topic_arn,
                warning_topic_arn=warnings.topic_arn,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for name, specs, pages, warnings, provider in groups
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
            checks=checks,
        ),
        opts=ctx.on_aws(),
    )
