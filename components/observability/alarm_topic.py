"""The SNS topic alarms notify: KMS-encrypted, subscribed from config.

CloudWatch publishes to an encrypted topic only if the key lets `cloudwatch.amazonaws.com`
use it; with an AWS-managed key (`alias/aws/sns`) or a default key policy its notifications
are dropped without an error anywhere. Hence a key of its own, whose policy says so.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import statement
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


class AlarmTopic(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:AlarmTopic"

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        alarms_publish = {
            **statement(
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                sid="CloudWatchAlarmsPublish",
                conditions={"StringEquals": {"aws:SourceAccount": args.account_id}},
            ),
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
        }
        policy = key_policy(args.key_access, alarms_publish)
        key = rotating_key(f"{name}-key", "SNS alarm topic encryption", self, args.protect, policy)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, opts=pulumi.ResourceOptions(parent=self))
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
