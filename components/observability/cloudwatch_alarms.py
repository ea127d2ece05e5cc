"""Registers alarm specs (alarm_specs.py) as CloudWatch metric alarms: those that page notify the
pages topic, the others the warnings topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.observability.alarm_specs import AlarmSpec, AlarmThresholds, treat_missing_data


@dataclass(frozen=True)
class CloudWatchAlarmsArgs:
    #: Alarm names start with this (the stack prefix), so one account can hold several stacks.
    name_prefix: str
    #: The alarms to register.
    alarms: Sequence[AlarmSpec]
    #: Their evaluation (period, datapoints, missing data).
    thresholds: AlarmThresholds
    #: SNS topic in the alarms' region that pages: alarm and recovery notifications go there.
    topic_arn: pulumi.Input[str]
    #: SNS topic in the alarms' region that reaches an inbox: the warnings' notifications.
    warning_topic_arn: pulumi.Input[str]


class CloudWatchAlarms(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:CloudWatchAlarms"

    def __init__(self, name: str, args: CloudWatchAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        t = args.thresholds
        alarms = []
        for spec in args.alarms:
            single = spec.metric
            topic = args.topic_arn if spec.pages else args.warning_topic_arn
            alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{spec.name}",
                    name=f"{args.name_prefix}-{spec.name}",
                    alarm_description=spec.description,
                    comparison_operator=spec.comparison,
                    threshold=spec.threshold,
                    evaluation_periods=t.evaluation_periods,
                    datapoints_to_alarm=t.datapoints_to_alarm,
                    treat_missing_data=treat_missing_data(spec, t),
                    namespace=single.namespace if single else None,
                    metric_name=single.name if single else None,
                    dimensions=single.dimensions if single else None,
                    period=(spec.period_s or t.period_s) if single else None,
                    # Percentiles are "extended" statistics in the CloudWatch API.
                    statistic=single.stat if single and not single.stat.startswith("p") else None,
                    extended_statistic=single.stat if single and single.stat.startswith("p") else None,
                    metric_queries=spec.queries,
                    alarm_actions=[topic],
                    ok_actions=[topic],
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.alarm_arns = [alarm.arn for alarm in alarms]
        self.register_outputs({"alarmArns": self.alarm_arns})
