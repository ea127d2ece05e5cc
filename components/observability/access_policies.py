"""IAM for the monitoring pods, through EKS Pod Identity.

Grafana's CloudWatch data source: the metric half of the AWS managed policy
AmazonGrafanaCloudWatchAccess (vendored in vendor/, compared by tests/test_observability.py),
with no CloudWatch Logs, EC2 or OAM rights: our dashboards read metrics only.
Alertmanager: publish to one topic, through its KMS key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pulumi

from components.aws.iam_documents import policy_document, statement

#: The upstream managed policy, vendored for the subset test (the program never reads it).
GRAFANA_UPSTREAM = Path(__file__).parent / "vendor" / "amazon-grafana-cloudwatch-access.json"

GRAFANA_METRIC_READS = (
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListMetrics",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetInsightRuleReport",
)
#: The data source's region picker and its dimension-by-tag lookups.
GRAFANA_DISCOVERY = ("ec2:DescribeRegions", "tag:GetResources")


GRAFANA_CLOUDWATCH = {
    "Version": "2012-10-17",
    "Statement": [statement(GRAFANA_METRIC_READS), statement(GRAFANA_DISCOVERY)],
}


def alertmanager_publish_policy(
    topic_arns: Sequence[pulumi.Input[str]], key_arns: Sequence[pulumi.Input[str]]
) -> pulumi.Output[str]:
    """SNS publishes to an encrypted topic with the caller's rights on the key."""
    return policy_document(
        [
            statement(["sns:Publish"], list(topic_arns)),
            statement(["kms:GenerateDataKey*", "kms:Decrypt"], list(key_arns)),
        ]
    )
