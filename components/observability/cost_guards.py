"""Guards on the bill: an AWS Budget and a Cost Anomaly Detection monitor for one environment.

Both select the environment's spend by its `Environment` cost allocation tag, which every
resource carries: the providers' default tags, and the tags the stack hands to what AWS creates
on its behalf (Karpenter's nodes, the system nodes, CSI volumes, the ALB). AWS only filters on
an activated tag: activate `Environment` once per account (Billing > Cost allocation tags;
`make preflight` checks it).
The topics must let `budgets.amazonaws.com` and `costalerts.amazonaws.com` publish and use their
keys (AlarmTopicArgs.publishers). Budgets and Cost Explorer are global services (their API lives in
us-east-1 whatever the provider's region); their alerts go to the us-east-1 topics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

#: The services that publish the guards' alerts: their topics' policies and keys must admit them.
PUBLISHERS = ("budgets.amazonaws.com", "costalerts.amazonaws.com")
#: The cost allocation tag the filters use (set on every resource by the provider's default tags).
ENVIRONMENT_TAG = "Environment"


@dataclass(frozen=True)
class CostGuardsArgs:
    #: Names the budget, monitor and subscription (`sd-<env>`).
    name_prefix: str
    #: The Environment tag value whose spend is watched.
    environment: str
    #: The budget's monthly limit, USD.
    monthly_ceiling_usd: float
    #: Actual spend at these % of the limit notifies the warnings topic.
    warn_at_percent: Sequence[int]
    #: Forecast spend at this % notifies the warnings topic.
    forecast_at_percent: int
    #: Actual spend at this % pages.
    page_at_percent: int
    #: Anomalies with at least this total impact (USD) notify the warnings topic.
    anomaly_threshold_usd: float
    #: The warnings topic (us-east-1, where the billing services publish from) admitting both.
    warnings_topic_arn: pulumi.Input[str]
    #: The pages topic (us-east-1) admitting AWS Budgets.
    pages_topic_arn: pulumi.Input[str]
    #: What the alerts wait for: the topics' policies admitting the billing services (AWS
    #: checks publish rights when a subscription is created).
    topic_policies: Sequence[pulumi.Resource] = ()


class CostGuards(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:CostGuards"

    def __init__(self, name: str, args: CostGuardsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.topic_policies))
        tag_value = f"user:{ENVIRONMENT_TAG}${args.environment}"  # without "user:" it matches nothing
        budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"{args.name_prefix}-monthly",
            budget_type="COST",
            limit_amount=f"{args.monthly_ceiling_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[tag_value])],
            notifications=_notifications(args),
            opts=child,
        )
        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomalies",
            name=f"{args.name_prefix}-spend",
            monitor_type="CUSTOM",
            monitor_specification=json.dumps(
                {
                    "And": None,
                    "CostCategories": None,
                    "Dimensions": None,
                    "Not": None,
                    "Or": None,
                    "Tags": {"Key": f"user:{ENVIRONMENT_TAG}", "MatchOptions": None, "Values": [args.environment]},
                }
            ),
            opts=child,
        )
        aws.costexplorer.AnomalySubscription(
            f"{name}-anomaly-alerts",
            name=f"{args.name_prefix}-anomalies",
            frequency="IMMEDIATE",  # SNS subscribers take immediate alerts only
            monitor_arn_lists=[monitor.arn],
            subscribers=[
                aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=args.warnings_topic_arn)
            ],
            threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                    key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    match_options=["GREATER_THAN_OR_EQUAL"],
                    values=[_amount(args.anomaly_threshold_usd)],
                )
            ),
            opts=child,
        )
        self.budget_name = budget.name
        self.monitor_arn = monitor.arn
        self.register_outputs({"budgetName": self.budget_name, "monitorArn": self.monitor_arn})


def _amount(usd: float) -> str:
    """A USD amount as AWS reads it: no exponent, no rounding ("1234.5", "100")."""
    return format(usd, "f").rstrip("0").rstrip(".")


def _notifications(args: CostGuardsArgs) -> list[aws.budgets.BudgetNotificationArgs]:
    """One subscriber topic per notification (AWS allows one SNS topic each)."""
    rules = [("ACTUAL", p, args.warnings_topic_arn) for p in args.warn_at_percent]
    rules += [("FORECASTED", args.forecast_at_percent, args.warnings_topic_arn)]
    rules += [("ACTUAL", args.page_at_percent, args.pages_topic_arn)]
    return [
        aws.budgets.BudgetNotificationArgs(
            notification_type=kind,
            comparison_operator="GREATER_THAN",
            threshold=float(percent),
            threshold_type="PERCENTAGE",
            subscriber_sns_topic_arns=[topic],
        )
        for kind, percent, topic in rules
    ]
