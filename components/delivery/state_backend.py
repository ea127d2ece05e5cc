"""Where the platform's Pulumi state lives: an S3 bucket for `pulumi login s3://...`, whose
policy lets only an environment's own roles (and the state admins) reach its stacks' objects,
and only its deploy role write them. The secrets keys are per environment
(environment_identity.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import deny_insecure_transport, document_json
from components.aws.private_bucket import PrivateBucket, PrivateBucketArgs

from .access import bucket_confinement, meta_confinement


@dataclass(frozen=True)
class StateBackendArgs:
    #: Region of the bucket (in the URL Pulumi is given).
    region: str
    #: Days old state versions are kept: the undo log of every deploy.
    state_history_days: int
    #: Environment -> the platform stacks it owns.
    environments: Mapping[str, Sequence[str]]
    #: Principals (ARN patterns) that may read and write every stack's state: break-glass,
    #: `pulumi stack init`, `stack change-secrets-provider`. The delivery roles are added per environment.
    admins: Sequence[str]
    #: The account whose delivery role ARNs the policy names.
    account_id: pulumi.Input[str]


class StateBackend(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:bootstrap:StateBackend"

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        # Versioned, encrypted, public access blocked: PrivateBucket's defaults. Its policy is
        # this one: TLS only, and each environment's roles confined to their own stacks.
        bucket = PrivateBucket(
            f"{name}-state",
            PrivateBucketArgs(
                noncurrent_version_expiration_days=args.state_history_days, protect=True, attach_tls_only_policy=False
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketPolicy(
            f"{name}-state-policy",
            bucket=bucket.bucket,
            policy=pulumi.Output.all(bucket.arn, args.account_id).apply(
                lambda v: document_json(
                    [
                        deny_insecure_transport(v[0]),
                        meta_confinement(v[0], args.admins),
                        *(
                            s
                            for env, stacks in args.environments.items()
                            for s in bucket_confinement(v[0], v[1], env, stacks, args.admins)
                        ),
                    ]
                )
            ),
            # It was PrivateBucket's own TLS-only policy before: the same resource, replaced in place.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[bucket.public_access_block], aliases=[pulumi.Alias(parent=bucket)]
            ),
        )
        self.bucket_arn = bucket.arn
        self.backend_url = pulumi.Output.concat("s3://", bucket.bucket, "?region=", args.region)
        self.register_outputs({"backendUrl": self.backend_url, "bucketArn": self.bucket_arn})
