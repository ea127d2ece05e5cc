"""An S3 bucket that is private by construction (pulumi-aws v7 split bucket resources)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import deny_insecure_transport

#: Where server access logs land in a log bucket: s3-access/<source bucket>/.
ACCESS_LOG_PREFIX = "s3-access/"
#: Where load balancer access logs land: alb/AWSLogs/<account>/ (the ALB adds the rest).
ALB_LOG_PREFIX = "alb"


@dataclass(frozen=True)
class PrivateBucketArgs:
    #: BucketOwnerEnforced disables ACLs (FSBP S3.12). CloudFront standard logging still
    #: writes through an ACL grant, so its log bucket needs BucketOwnerPreferred.
    object_ownership: str = "BucketOwnerEnforced"
    #: Days a replaced or deleted object version is kept.
    noncurrent_version_expiration_days: int = 30
    #: Expire current objects too (log buckets); None keeps them.
    expiration_days: int | None = None
    #: Where that expiry applies ("": everywhere; "runs/": only there, so what lives beside the
    #: expiring objects, like a canary's code, stays).
    expiration_prefix: str = ""
    #: CORS rules (the static assets' fonts and scripts across origins); none by default.
    cors_rules: Sequence[aws.s3.BucketCorsConfigurationCorsRuleArgs] = field(default_factory=tuple)
    #: False when the owner attaches its own policy (one policy per bucket); it must then
    #: include `deny_insecure_transport`.
    attach_tls_only_policy: bool = True
    #: Buckets (ARNs) whose S3 server access logs this bucket receives, under ACCESS_LOG_PREFIX.
    access_log_sources: Sequence[pulumi.Input[str]] = ()
    #: Receive the access logs of this account's load balancers under ALB_LOG_PREFIX (the
    #: bucket must keep SSE-S3: ELB access logs support no other encryption).
    load_balancer_logs: bool = False
    #: Pulumi `protect` on the bucket.
    protect: bool = False
    #: Delete every object and version on `destroy` (the bucket holds only data that is
    #: re-created: static files the deploy uploads, logs). Never with `protect`.
    empty_on_destroy: bool = False

    def __post_init__(self) -> None:
        if self.protect and self.empty_on_destroy:
            raise ValueError("a protected bucket never empties itself on destroy")


class PrivateBucket(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:private_bucket:PrivateBucket"

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            name, force_destroy=args.empty_on_destroy, opts=pulumi.ResourceOptions(parent=self, protect=args.protect)
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=args.object_ownership),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[self._lifecycle_rule(args), *self._prefix_expiry_rules(args)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        if args.cors_rules:
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors", bucket=bucket.id, cors_rules=list(args.cors_rules), opts=child
            )
        if args.attach_tls_only_policy:
            self._policy(name, args, bucket)

        self.bucket = bucket.bucket
        self.arn = bucket.arn
        self.regional_domain_name = bucket.bucket_regional_domain_name
        self.domain_name = bucket.bucket_domain_name
        self.register_outputs(
            {
                "bucket": self.bucket,
                "arn": self.arn,
                "regionalDomainName": self.regional_domain_name,
                "domainName": self.domain_name,
            }
        )

    def _policy(self, name: str, args: PrivateBucketArgs, bucket: aws.s3.Bucket) -> None:
        """TLS only, and the log deliveries this bucket receives, each under its own prefix."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        # ELB's log-delivery account of this region (regions opened before August 2022).
        elb = aws.elb.get_service_account_output(opts=invoke).arn if args.load_balancer_logs else ""
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(account, elb, bucket.arn, *args.access_log_sources).apply(
                lambda v: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [deny_insecure_transport(v[2])]
                        + ([access_log_delivery(v[2], v[3:], v[0])] if v[3:] else [])
                        + (load_balancer_log_delivery(v[2], v[0], v[1]) if v[1] else []),
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

    @staticmethod
    def _lifecycle_rule(args: PrivateBucketArgs) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
        return aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-old-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=args.noncurrent_version_expiration_days
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
            expiration=(
                aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expiration_days)
                if args.expiration_days and not args.expiration_prefix
                else None
            ),
        )

    @staticmethod
    def _prefix_expiry_rules(args: PrivateBucketArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        """Current objects expire under `expiration_prefix` only (when one is set)."""
        if not (args.expiration_days and args.expiration_prefix):
            return []
        return [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-prefix",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=args.expiration_prefix),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expiration_days),
            )
        ]


def access_log_delivery(target_arn: str, sources: Sequence[str], source_account: str) -> dict:
    """S3 server access logging delivers with the logging service principal (not an ACL), only
    for these source buckets of our account (FSBP S3.9; the account closes the confused deputy
    that bucket names alone, which any account can take, would leave open)."""
    return {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{target_arn}/{ACCESS_LOG_PREFIX}*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": list(sources)},
            "StringEquals": {"aws:SourceAccount": source_account},
        },
    }


def load_balancer_log_delivery(target_arn: str, account_id: str, elb_account_arn: str) -> list[dict]:
    """ELB writes access logs as its regional account (regions opened before August 2022) or as
    the log-delivery service principal (newer ones), only under this account's prefix."""
    return [
        {
            "Sid": "LoadBalancerLogs",
            "Effect": "Allow",
            "Principal": {"AWS": elb_account_arn, "Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{target_arn}/{ALB_LOG_PREFIX}/AWSLogs/{account_id}/*",
        }
    ]
