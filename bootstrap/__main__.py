"""Bootstrap, once per AWS account: what `pulumi login s3://...`, `--secrets-provider awskms://...`
and the GitHub workflows need before the first platform stack exists (README "Real use").

Per account: the state bucket, GitHub's OIDC provider and connection, and the service-linked
roles no service makes on first use (components/delivery/service_linked_roles.py). Per environment the
account hosts: a secrets key, a permissions boundary, deploy and preview roles, and a
CodeBuild-hosted runner whose VPC the platform stack peers with to reach its private API.

Its own state stays local (or in a backend you already have): it creates the bucket the
platform's state will live in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.aws.kms import KeyAccess, principal_arns
from components.delivery.environment_identity import EnvironmentIdentity, EnvironmentIdentityArgs
from components.delivery.github import ISSUER
from components.delivery.runner import CodeBuildRunner, CodeBuildRunnerArgs
from components.delivery.service_linked_roles import ServiceLinkedRoles, ServiceLinkedRolesArgs
from components.delivery.state_backend import StateBackend, StateBackendArgs
from stacks.loader import load_config
from stacks.schema.delivery import BootstrapConfig

#: The workflows (their `name:`) whose jobs run on the runners: nothing else starts a build there.
RUNNER_WORKFLOWS = ("deploy", "drift", "pull request", "load test")

config = load_config(BootstrapConfig)


def tagged_provider(name: str, environment: str) -> aws.Provider:
    """The platform's tag policy applies here too. An environment's key, roles and runner carry
    its Environment tag, so the other environment's boundary keeps its roles off them."""
    tags = {
        "Project": "smartdairy-platform",
        "Environment": environment,
        "Owner": config.owner,
        "CostCenter": config.cost_center,
        "ManagedBy": "pulumi",
    }
    return aws.Provider(name, region=config.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))


provider = tagged_provider("aws", "bootstrap")
account = pulumi.ResourceOptions(providers=[provider])
invoke = pulumi.InvokeOutputOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=invoke).account_id
#: The state admins administer every key the bootstrap makes (the state keys, the runners' log keys).
key_access = KeyAccess(account_id, principal_arns(config.state_admins))
zones = aws.get_availability_zones_output(state="available", opts=invoke).names

backend = StateBackend(
    "pulumi",
    StateBackendArgs(
        region=config.region,
        state_history_days=365,
        environments={env: config.stacks_of(env) for env in config.environments},
        admins=config.state_admins,
        account_id=account_id,
    ),
    opts=account,
)
if config.create_oidc_provider:
    oidc_provider_arn = aws.iam.OpenIdConnectProvider(
        "github", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com"], opts=account
    ).arn
else:
    oidc_provider_arn = aws.iam.get_open_id_connect_provider_output(url=f"https://{ISSUER}", opts=invoke).arn
service_roles = ServiceLinkedRoles(
    "account", ServiceLinkedRolesArgs(services=config.service_linked_roles), opts=account
)
# Created PENDING: authorise it once in the console (README "Real use", step 1).
connection = aws.codeconnections.Connection("github", name="smartdairy-github", provider_type="GitHub", opts=account)

session_seconds = config.deploy_session_hours * 3600
for env, spec in config.environments.items():
    own = pulumi.ResourceOptions(providers=[tagged_provider(f"aws-{env}", env)])
    identity = EnvironmentIdentity(
        f"{env}-identity",
        EnvironmentIdentityArgs(
            environment=env,
            stacks=config.stacks_of(env),
            other_environments=[e for e in config.environments if e != env],
            repository=config.repository,
            preview_from_pull_requests=spec.preview_from_pull_requests,
            deploy_session_seconds=session_seconds,
            account_id=account_id,
            region=config.region,
            oidc_provider_arn=oidc_provider_arn,
            state_bucket_arn=backend.bucket_arn,
            key_access=key_access,
        ),
        opts=own,
    )
    runner = CodeBuildRunner(
        f"{env}-runner",
        CodeBuildRunnerArgs(
            environment=env,
            cidr=spec.runner_cidr,
            repository_url=f"https://github.com/{config.repository}",
            connection_arn=connection.arn,
            workflows=RUNNER_WORKFLOWS,
            availability_zones=zones,
            build_timeout_minutes=session_seconds // 60,
            log_retention_days=config.runner_log_retention_days,
            account_id=account_id,
            region=config.region,
            key_access=key_access,
        ),
        opts=own,
    )
    pulumi.export(
        env,
        {
            "secretsProvider": identity.secrets_provider,
            "deployRoleArn": identity.deploy_role_arn,
            "previewRoleArn": identity.preview_role_arn,
            "permissionsBoundaryArn": identity.boundary_arn,
            "runner": {
                "label": runner.label,
                "vpcId": runner.vpc_id,
                "cidr": spec.runner_cidr,
                "routeTableIds": runner.route_table_ids,
                "egressIp": runner.egress_ip,
            },
        },
    )

pulumi.export("stateBackend", backend.backend_url)
pulumi.export("oidcProviderArn", oidc_provider_arn)
pulumi.export("githubConnectionArn", connection.arn)
pulumi.export("serviceLinkedRoles", service_roles.role_arns)
