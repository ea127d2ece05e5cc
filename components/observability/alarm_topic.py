"""The SNS topic alarms notify: KMS-encrypted, subscribed from config.

CloudWatch publishes to an encrypted topic only if the key lets `cloudwatch.amazonaws.com`
use it; with an AWS-managed key (`alias/aws/sns`) or a default key policy its notifications
are dropped without an error anywhere. Hence a key of its own, whose policy says so.

A topic that other AWS services publish to (`publishers`: AWS Budgets, Cost Anomaly Detection)
also gets a topic policy admitting them and CloudWatch's alarms (the policy replaces the default
one, which admitted the alarms through the account), each only on behalf of this account.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, statement
from components.aws.kms import KeyAccess, key_policy, rotating_key


@dataclass(frozen=True)
class AlarmTopicArgs:
    #: The account the key and topic live in (key policy principal and confused-deputy check).
    account_id: pulumi.Input[str]
    #: Subscribers: email addresses (confirm once by mail) and HTTPS endpoints.
    emails: Sequence[str]
    #: HTTPS endpoints subscribed to the topic.
    https_endpoints: Sequence[str]
    #: Keep the key from an accidental delete (prod).
    protect: bool
    #: Who administers the key (the deploy role), in which account.
    key_access: KeyAccess
    #: Service principals besides CloudWatch that publish to the topic (budgets.amazonaws.com).
    publishers: Sequence[str] = ()


#: Statement ids that exist in deployed key policies: kept, so the policies do not change.
SIDS = {"cloudwatch.amazonaws.com": "CloudWatchAlarmsPublish"}


class AlarmTopic(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:AlarmTopic"

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        services = ["cloudwatch.amazonaws.com", *args.publishers]
        key_uses = [
            _service(service, ["kms:Decrypt", "kms:GenerateDataKey*"], "*", args.account_id) for service in services
        ]
        policy = key_policy(args.key_access, *key_uses)
        key = rotating_key(f"{name}-key", "SNS alarm topic encryption", self, args.protect, policy)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, opts=pulumi.ResourceOptions(parent=self))
        #: The topic policy admitting `publishers` (None without): what their alerts wait for.
        self.publishers_policy: aws.sns.TopicPolicy | None = None
        if args.publishers:
            self.publishers_policy = aws.sns.TopicPolicy(
                f"{name}-publishers",
                arn=topic.arn,
                policy=policy_document([_publish(service, topic.arn, args) for service in services]),
                opts=pulumi.ResourceOptions(parent=self),
            )
        subscribers = [("email", email) for email in args.emails] + [("https", url) for url in args.https_endpoints]
        for protocol, endpoint in subscribers:
            # Named after the endpoint, so adding or removing one leaves the others in place.
            aws.sns.TopicSubscription(
                f"{name}-{protocol}-{zlib.crc32(endpoint.encode()):08x}",
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topicArn": self.topic_arn, "keyArn": self.key_arn})


def _publish(service: str, topic_arn: pulumi.Input[str], args: AlarmTopicArgs) -> dict[str, Any]:
    """SNS:Publish for `service`; CloudWatch only for this account's alarms (its documented
    confused-deputy condition), the others on behalf of this account."""
    grant = _service(service, ["SNS:Publish"], topic_arn, args.account_id)
    if service == "cloudwatch.amazonaws.com":
        alarms = pulumi.Output.concat("arn:aws:cloudwatch:*:", args.account_id, ":alarm:*")
        grant["Condition"] = {**grant["Condition"], "ArnLike": {"aws:SourceArn": alarms}}
    return grant


def _service(service: str, actions: list[str], resource: Any, account_id: pulumi.Input[str]) -> dict[str, Any]:
    """`service` may do `actions`, only on behalf of this account (no confused deputy)."""
    sid = SIDS.get(service) or "".join(part.capitalize() for part in service.split(".")[0].split("-")) + "Publishes"
    return {
        **statement(actions, resource, sid=sid, conditions={"StringEquals": {"aws:SourceAccount": account_id}}),
        "Principal": {"Service": service},
    }
