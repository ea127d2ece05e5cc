"""Alarm delivery rules: a topic alarms publish to is encrypted, and an alarm notifies someone."""

from __future__ import annotations

from registry import resource_rule

TOPIC = "aws:sns/topic:Topic"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@resource_rule("sns-topic-encrypted", [TOPIC], control="SNS.1", severity="medium")
def topic_encrypted(props, config):
    """SNS topics are encrypted at rest with a KMS key (not AWS-managed alias/aws/sns: CloudWatch
    cannot use it)."""
    key = props.get("kmsMasterKeyId")
    if not key:
        yield "kmsMasterKeyId must name a customer-managed KMS key"
    elif str(key).endswith("alias/aws/sns"):
        yield "alias/aws/sns cannot be used by CloudWatch alarms: their notifications would be dropped"


@resource_rule("cloudwatch-alarm-actions", [ALARM], control="CloudWatch.15", severity="high")
def alarm_actions(props, config):
    """CloudWatch alarms notify on ALARM and on recovery, with actions enabled."""
    if props.get("actionsEnabled") is False:
        yield "actionsEnabled must not be false"
    if not props.get("alarmActions"):
        yield "alarmActions must name at least one target (the stack's alarm topic)"
    if not props.get("okActions"):
        yield "okActions must name a target, so recoveries are announced too"


@resource_rule("cloudwatch-log-group-cmk", [LOG_GROUP], severity="medium")
def log_group_cmk(props, config):
    """CloudWatch log groups are encrypted with a customer-managed KMS key (what they hold is
    read by whoever the key's policy admits, not by anyone with logs:GetLogEvents alone)."""
    if not props.get("kmsKeyId"):
        yield "set kmsKeyId to a customer-managed key whose policy admits CloudWatch Logs for this group"
