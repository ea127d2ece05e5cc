"""The seed's cache-hit target measured on what can be cached. CloudFront's own CacheHitRate counts
every request of a distribution, and most of this platform's are API and Odoo calls that must
never be cached, so it stays low on a healthy site. Instead, the cacheable behaviours (and only
they) send a sample of their real-time log records (distribution, behaviour, cache result) to a
Kinesis stream, and a function counts hits and requests into CloudWatch metrics.

Chosen over CloudFront's standard logs to CloudWatch Logs with metric filters, which ingest every
request of both distributions (API calls included: the bulk, and the cost, at the seed's 10,000
users); a sample of the cacheable requests is enough for a ratio. Everything lives in us-east-1
beside the distributions' metrics and alarms, where the stack has no VPC: the function reads the
stream and writes metrics, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.kms import KeyAccess, component_key
from components.aws.python_function import RUNTIME
from components.edge.cache_hits.consumer import FIELDS
from components.observability.alarm_specs import CDN_NAMESPACE

CONSUMER = Path(__file__).with_name("consumer.py")
NAMESPACE = CDN_NAMESPACE
#: Records a shard takes per second is 1,000: a sample of the cacheable requests fits one shard.
SHARDS = 1


@dataclass(frozen=True)
class CacheHitSamplerArgs:
    #: Names start with it (the stack prefix).
    name_prefix: str
    #: Percent of the cacheable requests whose record is sent (1-100).
    sampling_percent: int
    #: Days the function's logs are kept.
    log_retention_days: int
    #: Who administers the stream's and logs' key, in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the key.
    protect: bool


class CacheHitSampler(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:cdn:CacheHitSampler"

    def __init__(self, name: str, args: CacheHitSamplerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group_name = f"/aws/lambda/{name}"
        key = self._key(name, args, group_name)
        stream = aws.kinesis.Stream(
            f"{name}-stream",
            shard_count=SHARDS,
            retention_period=24,
            encryption_type="KMS",
            kms_key_id=key.arn,
            opts=child,
        )
        writer, writer_policy = self._writer(name, stream.arn, key.arn)
        config = aws.cloudfront.RealtimeLogConfig(
            f"{name}-config",
            name=f"{args.name_prefix}-cacheable",
            sampling_rate=args.sampling_percent,
            fields=list(FIELDS),
            endpoint=aws.cloudfront.RealtimeLogConfigEndpointArgs(
                stream_type="Kinesis",
                kinesis_stream_config=aws.cloudfront.RealtimeLogConfigEndpointKinesisStreamConfigArgs(
                    role_arn=writer.arn, stream_arn=stream.arn
                ),
            ),
            # CloudFront checks the role can write when the config is made: its policy first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[writer_policy]),
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=group_name, retention_in_days=args.log_retention_days, kms_key_id=key.arn, opts=child
        )
        self._consumer(name, args, stream, key.arn, logs)
        #: What the cacheable behaviours name (`realtime_log_config_arn`).
        self.config_arn = config.arn
        self.register_outputs({"realtimeLogConfigArn": self.config_arn})

    def _key(self, name: str, args: CacheHitSamplerArgs, group_name: str) -> aws.kms.Key:
        description = "Cache-hit sample stream and its function's logs"
        return component_key(f"{name}-key", description, self, args.protect, args.key_access, [group_name])

    def _writer(
        self, name: str, stream_arn: pulumi.Output[str], key_arn: pulumi.Output[str]
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """CloudFront's role: put records into this stream, through its key. Trust and permissions
        as AWS documents them for real-time logs (CloudFront is not documented to send
        aws:SourceAccount when it assumes the role, so no condition that could refuse it)."""
        role = aws.iam.Role(
            f"{name}-writer",
            assume_role_policy=service_trust_policy("cloudfront.amazonaws.com"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-writer",
            role=role.id,
            policy=policy_document(
                [
                    statement(
                        [
                            "kinesis:DescribeStreamSummary",
                            "kinesis:DescribeStream",
                            "kinesis:PutRecord",
                            "kinesis:PutRecords",
                        ],
                        [stream_arn],
                    ),
                    statement(["kms:GenerateDataKey"], [key_arn]),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role, policy

    def _consumer(
        self,
        name: str,
        args: CacheHitSamplerArgs,
        stream: aws.kinesis.Stream,
        key_arn: pulumi.Output[str],
        logs: aws.cloudwatch.LogGroup,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-function",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com", args.key_access.account_id),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-function",
            role=role.id,
            policy=policy_document(
                [
                    statement(
                        [
                            "kinesis:DescribeStream",
                            "kinesis:DescribeStreamSummary",
                            "kinesis:GetRecords",
                            "kinesis:GetShardIterator",
                            "kinesis:ListShards",
                        ],
                        [stream.arn],
                    ),
                    statement(["kinesis:ListStreams"]),
                    statement(["kms:Decrypt"], [key_arn]),
                    statement(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(logs.arn, ":*")]),
                    statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
                    statement(
                        ["cloudwatch:PutMetricData"], conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}}
                    ),
                ]
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            name=name,
            description="Counts CloudFront cache results of the cacheable behaviours into CloudWatch metrics",
            runtime=RUNTIME,
            handler="consumer.handler",
            code=pulumi.AssetArchive({"consumer.py": pulumi.FileAsset(str(CONSUMER))}),
            role=role.arn,
            timeout=60,
            memory_size=128,
            kms_key_arn=key_arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={"METRIC_NAMESPACE": NAMESPACE}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-source",
            event_source_arn=stream.arn,
            function_name=function.arn,
            starting_position="LATEST",
            batch_size=1000,
            maximum_batching_window_in_seconds=60,
            # A sample feeds a ratio: a batch that keeps failing is dropped, never blocks the shard.
            maximum_retry_attempts=2,
            maximum_record_age_in_seconds=600,
            bisect_batch_on_function_error=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
