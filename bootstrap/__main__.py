"""Bootstrap, once per AWS account: what `pulumi login s3://...`, `--secrets-provider awskms://...`
and the GitHub workflows need before the first platform stack exists (README "Real use").

Its own state stays local (or in a backend you already have): it creates the bucket the
platform's state will live in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.aws.deploy_identity import DeployIdentity, DeployIdentityArgs
from components.aws.state_backend import StateBackend, StateBackendArgs

config = pulumi.Config()
region = pulumi.Config("aws").require("region")
repository = config.require("repository")
if repository.count("/") != 1 or " " in repository:
    raise pulumi.RunError(f"smartdairy-bootstrap:repository = {repository!r}: expected owner/name")

# The platform's tag policy applies here too: every resource says what it belongs to.
provider = aws.Provider(
    "aws",
    region=region,
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={
            "Project": "smartdairy-platform",
            "Environment": "bootstrap",
            "Owner": config.get("owner") or "platform",
            "CostCenter": config.get("costCenter") or "platform",
            "ManagedBy": "pulumi",
        }
    ),
)
account = pulumi.ResourceOptions(providers=[provider])
backend = StateBackend("pulumi", StateBackendArgs(region=region, state_history_days=365), opts=account)
identity = DeployIdentity(
    "github",
    DeployIdentityArgs(
        repository=repository,
        deploy_environments=("staging", "prod"),
        create_oidc_provider=config.get_bool("createOidcProvider", True),
        state_bucket_arn=backend.bucket_arn,
        secrets_key_arn=backend.key_arn,
    ),
    opts=account,
)

pulumi.export("stateBackend", backend.backend_url)
pulumi.export("secretsProvider", backend.secrets_provider)
pulumi.export("previewRoleArn", identity.preview_role_arn)
pulumi.export("deployRoleArn", identity.deploy_role_arn)
pulumi.export("oidcProviderArn", identity.oidc_provider_arn)
