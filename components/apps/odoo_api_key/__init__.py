"""The API gateway's credential towards Odoo: an Odoo API key of a service user, issued and
rotated inside the cluster by a CronJob running Odoo's own code (`odoo shell`), kept in Secrets
Manager, read by the gateway as a file. Never a Pulumi input or output: the program creates the
secret with an empty first value (no credential), the Job writes every real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.apps.odoo_api_key.issue import RUN
from components.apps.odoo_config import CONF
from components.apps.odoo_jobs import odoo_job_access, odoo_job_egress, odoo_job_pod
from components.aws.iam_documents import secret_write_statements
from components.aws.secrets import first_version
from components.k8s.pod_spec import ContainerResources, container_security_context, pull_policy
from components.k8s.secret_files import PodAccess, SecretFiles, SecretRef
from components.k8s.workload import PodPeer

SCRIPT = Path(__file__).with_name("issue.py")
SERVICE_ACCOUNT = "odoo-api-key"
LABELS = {"app.kubernetes.io/name": SERVICE_ACCOUNT, "app.kubernetes.io/part-of": "smartdairy"}
SCRIPT_DIR = "/etc/odoo-api-key"
#: The gateway's user in Odoo (the secret carries it beside the key).
SERVICE_LOGIN = "api-gateway"
#: Daily: a key is renewed a period before it expires, so a missed day or two costs nothing.
SCHEDULE = "17 3 * * *"
RESOURCES = ContainerResources.model_validate(
    {"cpuRequest": "100m", "cpuLimit": "1", "memoryRequest": "256Mi", "memoryLimit": "512Mi"}
)


@dataclass(frozen=True)
class OdooApiKeyArgs:
    #: Namespace of Odoo and the gateway.
    namespace: pulumi.Input[str]
    #: Odoo's image: the Job runs `odoo shell` with Odoo's own config.
    image: str
    #: Odoo's ConfigMap (odoo.conf) and the key of the web workers' config in it.
    odoo_config_map: pulumi.Input[str]
    #: Odoo's database credential (the owner role's secret): the Job logs in as Odoo does.
    db_secret: SecretRef
    #: The key that encrypts the API key's secret (the applications' secrets key).
    key_arn: pulumi.Input[str]
    #: A key is renewed when it has less than this many days left, and lives twice as long.
    credential_rotation_days: int
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess
    #: PgBouncer's pods: the Job's database path, as Odoo's (its config names the rw pool).
    pgbouncer: PodPeer
    #: Node labels the Job's pod requires.
    node_selector: Mapping[str, str]
    #: Pulumi `protect` on the secret (its loss cuts the gateway off Odoo until the next run).
    protect: bool


class OdooApiKey(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:odoo:OdooApiKey"

    def __init__(self, name: str, args: OdooApiKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            description="The API gateway's Odoo API key, issued and rotated by the odoo-api-key CronJob.",
            kms_key_id=args.key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # The first value holds no credential: the gateway's mount works from day one, and the
        # gateway waits for a key (the CSI driver refreshes the file once the Job has put one).
        first_version(f"{name}-secret", secret.id, f'{{"login": "{SERVICE_LOGIN}", "key": ""}}', self)
        #: The gateway reads it (login, key); the Job reads and writes it.
        self.secret = SecretRef(secret.arn, args.key_arn)
        writes = secret_write_statements([secret.arn], [args.key_arn], args.pod_access.region)
        files, associations, account = odoo_job_access(
            name, SERVICE_ACCOUNT, args.namespace, args.db_secret, args.pod_access, writes, self
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            data={"issue.py": SCRIPT.read_text() + RUN},
            opts=child,
        )
        odoo_job_egress(name, args.namespace, LABELS, args.pgbouncer, self)
        pod = _job_pod(args, files, account, script.metadata.name, secret.arn)
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            spec={
                "schedule": SCHEDULE,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {"backoffLimit": 3, "activeDeadlineSeconds": 900, "template": pod}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=associations),
        )
        #: What PgBouncer's NetworkPolicy admits besides the applications.
        self.peer = PodPeer(LABELS, 0)
        self.register_outputs({"secretArn": secret.arn})


def _job_pod(
    args: OdooApiKeyArgs,
    files: SecretFiles,
    account: pulumi.Input[str],
    script: pulumi.Input[str],
    secret_arn: pulumi.Input[str],
) -> dict:
    """The Job's pod: odoo.conf rendered as Odoo's init container renders it (with the owner
    role's current user), then `odoo shell` running the script, as the platform's user."""
    environment = {
        "KEY_SECRET_ARN": secret_arn,
        "SERVICE_LOGIN": SERVICE_LOGIN,
        "ROTATION_DAYS": str(args.credential_rotation_days),
        "AWS_REGION": args.pod_access.region,
    }
    issuer = {
        "name": "issue",
        "image": args.image,
        "imagePullPolicy": pull_policy(args.image),
        "command": ["/bin/sh", "-c", f"odoo shell -c {CONF} --no-http < {SCRIPT_DIR}/issue.py"],
        "env": [{"name": key, "value": value} for key, value in environment.items()],
        "securityContext": container_security_context(),
        "resources": RESOURCES.as_k8s(),
        "volumeMounts": [
            {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
            {"name": "run", "mountPath": "/run/odoo"},
        ],
    }
    return odoo_job_pod(
        LABELS,
        account,
        args.image,
        files,
        args.odoo_config_map,
        args.node_selector,
        [issuer],
        volumes=[{"name": "script", "configMap": {"name": script}}],
    )
