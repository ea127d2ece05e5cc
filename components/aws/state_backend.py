"""Where the platform's Pulumi state and secrets live: an S3 bucket for `pulumi login s3://...`
and a KMS key for `--secrets-provider awskms://...`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.aws.kms import rotating_key
from components.edge.private_bucket import PrivateBucket, PrivateBucketArgs


@dataclass(frozen=True)
class StateBackendArgs:
    #: Region of the bucket and key (in the URLs Pulumi is given).
    region: str
    #: Days old state versions are kept: the undo log of every deploy.
    state_history_days: int


class StateBackend(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:bootstrap:StateBackend"
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    backend_url: pulumi.Output[str]
    secrets_provider: str

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        # Versioned, encrypted, public access blocked, TLS only: PrivateBucket's defaults.
        bucket = PrivateBucket(
            f"{name}-state",
            PrivateBucketArgs(noncurrent_version_expiration_days=args.state_history_days, protect=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = rotating_key(f"{name}-secrets", "Pulumi secrets provider of the platform stacks", self, protect=True)
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.backend_url = pulumi.Output.concat("s3://", bucket.bucket, "?region=", args.region)
        self.secrets_provider = f"awskms://alias/{name}-secrets?region={args.region}"
        self.register_outputs(
            {"backendUrl": self.backend_url, "secretsProvider": self.secrets_provider, "keyArn": self.key_arn}
        )
