"""A dead man's switch for the in-cluster alerting: Alertmanager publishes the always-firing
Watchdog to a topic of its own every few minutes, and a CloudWatch alarm pages when that topic
has published nothing for a while. CloudWatch is outside the cluster, so a dead Prometheus, a
dead Alertmanager, a broken route or a lost IAM permission all page, through the topic the
other alarms use.

SNS counts every accepted publish (`NumberOfMessagesPublished`, per topic) whether or not
anything subscribes: the topic needs no subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

#: Five-minute sums over this many periods: three missed beats (Alertmanager beats every five
#: minutes) page, a single late one does not.
PERIOD_S = 300
SILENT_PERIODS = 3


@dataclass(frozen=True)
class HeartbeatArgs:
    #: The alarm's name (the stack prefix goes in front).
    alarm_name: str
    #: The KMS key of the pages topic: the heartbeat topic is encrypted with it, so Alertmanager's
    #: rights on one key cover both.
    key_arn: pulumi.Input[str]
    #: Where the silence pages.
    pages_topic_arn: pulumi.Input[str]


class Heartbeat(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:Heartbeat"

    def __init__(self, name: str, args: HeartbeatArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=args.key_arn, opts=pulumi.ResourceOptions(parent=self))
        aws.cloudwatch.MetricAlarm(
            f"{name}-silence",
            name=args.alarm_name,
            alarm_description=(
                "Alertmanager's Watchdog heartbeat stopped: Prometheus or Alertmanager is down, or cannot "
                "publish to SNS. No in-cluster alert reaches anyone until it is back (docs/runbooks.md#heartbeat)."
            ),
            namespace="AWS/SNS",
            metric_name="NumberOfMessagesPublished",
            dimensions={"TopicName": topic.name},
            statistic="Sum",
            period=PERIOD_S,
            evaluation_periods=SILENT_PERIODS,
            datapoints_to_alarm=SILENT_PERIODS,
            comparison_operator="LessThanThreshold",
            threshold=1,
            # No publish at all leaves no datapoint: silence is the outage itself.
            treat_missing_data="breaching",
            alarm_actions=[args.pages_topic_arn],
            ok_actions=[args.pages_topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
