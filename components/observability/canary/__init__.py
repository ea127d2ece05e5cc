"""CloudWatch Synthetics canaries for the seed's user-side targets (page load, static asset
latency, an API round trip), run from outside the VPC against the public URLs. Their code is
canary.py, shipped as an archive object in a private bucket that also holds their run artifacts
(protected like every bucket of a protected stack, else emptied on destroy); their role can
write those, their own log groups and metrics in two namespaces, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import policy_document, service_trust_policy, statement
from components.aws.private_bucket import PrivateBucket, PrivateBucketArgs
from components.observability.synthetics import NAMESPACE, SyntheticCheck

CODE = Path(__file__).with_name("canary.py")
#: Where the code and the runs' artifacts live in the bucket.
CODE_KEY = "code/canary.zip"
ARTIFACTS = "runs"
#: The Synthetics runtime's own metrics (SuccessPercent, Duration).
RUNTIME_NAMESPACE = "CloudWatchSynthetics"


@dataclass(frozen=True)
class CanariesArgs:
    #: Canary names are `<prefix>-<check>`.
    name_prefix: str
    #: What to measure.
    checks: Sequence[SyntheticCheck]
    #: How often each canary runs, in minutes (its alarms' datapoints come as often).
    schedule_minutes: int
    #: The Synthetics Python runtime (syn-python-selenium-<x.y>).
    runtime_version: str
    #: Days the runs' screenshots, HAR files and logs are kept.
    artifact_retention_days: int
    #: The account and region (the role's log-group ARNs).
    account_id: pulumi.Input[str]
    #: The account's region (the role's log-group ARNs).
    region: str
    #: Pulumi `protect` on the artifacts bucket (prod's buckets all refuse a destroy); without
    #: it the bucket empties itself on destroy (its runs are re-created).
    protect: bool


def rate(minutes: int) -> str:
    """A Synthetics schedule: `rate(1 minute)`, `rate(5 minutes)`."""
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


class Canaries(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:observability:Canaries"

    def __init__(self, name: str, args: CanariesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = PrivateBucket(
            f"{name}-artifacts",
            PrivateBucketArgs(
                expiration_days=args.artifact_retention_days,
                # The runs expire; the code beside them stays (its version is the canary's).
                expiration_prefix=f"{ARTIFACTS}/",
                noncurrent_version_expiration_days=1,
                protect=args.protect,
                empty_on_destroy=not args.protect,
            ),
            opts=child,
        )
        code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=bucket.bucket,
            key=CODE_KEY,
            source=pulumi.AssetArchive({"python/canary.py": pulumi.FileAsset(str(CODE))}),
            opts=child,
        )
        role = self._role(name, args, bucket.arn)
        self.canary_names = [self._canary(name, args, check, bucket.bucket, code, role).name for check in args.checks]
        self.register_outputs({"canaryNames": self.canary_names})

    def _role(self, name: str, args: CanariesArgs, bucket_arn: pulumi.Output[str]) -> aws.iam.Role:
        """What the Synthetics runtime writes (AWS's documented minimum, without X-Ray: no tracing)."""
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com", args.account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        log_groups = pulumi.Output.concat(
            "arn:aws:logs:", args.region, ":", args.account_id, ":log-group:/aws/lambda/cwsyn-", args.name_prefix, "-*"
        )
        aws.iam.RolePolicy(
            f"{name}-role",
            role=role.id,
            policy=policy_document(
                [
                    statement(["s3:PutObject", "s3:GetObject"], [pulumi.Output.concat(bucket_arn, f"/{ARTIFACTS}/*")]),
                    statement(["s3:GetBucketLocation"], [bucket_arn]),
                    statement(["s3:ListAllMyBuckets"]),
                    statement(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [log_groups]),
                    statement(
                        ["cloudwatch:PutMetricData"],
                        conditions={"StringEquals": {"cloudwatch:namespace": [RUNTIME_NAMESPACE, NAMESPACE]}},
                    ),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _canary(
        self,
        name: str,
        args: CanariesArgs,
        check: SyntheticCheck,
        bucket: pulumi.Output[str],
        code: aws.s3.BucketObjectv2,
        role: aws.iam.Role,
    ) -> aws.synthetics.Canary:
        return aws.synthetics.Canary(
            f"{name}-{check.name}",
            name=f"{args.name_prefix}-{check.name}",
            runtime_version=args.runtime_version,
            handler="canary.handler",
            execution_role_arn=role.arn,
            s3_bucket=bucket,
            s3_key=code.key,
            s3_version=code.version_id,
            artifact_s3_location=pulumi.Output.concat("s3://", bucket, f"/{ARTIFACTS}/{check.name}"),
            artifact_config=aws.synthetics.CanaryArtifactConfigArgs(
                s3_encryption=aws.synthetics.CanaryArtifactConfigS3EncryptionArgs(encryption_mode="SSE_S3")
            ),
            schedule=aws.synthetics.CanaryScheduleArgs(expression=rate(args.schedule_minutes)),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=60,
                environment_variables={
                    "CHECK_NAME": check.name,
                    "CHECK_KIND": check.kind,
                    "CHECK_URLS": ",".join(check.urls),
                    "METRIC_NAMESPACE": NAMESPACE,
                },
            ),
            success_retention_period=args.artifact_retention_days,
            failure_retention_period=args.artifact_retention_days,
            start_canary=True,
            # Its Lambda function and layers go with it: a destroy leaves nothing behind.
            delete_lambda=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
