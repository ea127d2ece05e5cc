"""A service's own credential towards Odoo: an Odoo API key of its own service user (the API
gateway's; the load-test seeder's), issued and rotated inside the cluster by a Job running Odoo's
own code (`odoo shell`), kept in Secrets Manager, read by the service as a file. Never a Pulumi
input or output: the program creates the secret with an empty first value (no credential), the
Job writes every real one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from components.k8s.suspended_job import suspended_job
from components.k8s.workload import PodPeer

SCRIPT = Path(__file__).with_name("issue.py")
SCRIPT_DIR = "/etc/odoo-api-key"
#: An issuer's run: Odoo's start-up plus one transaction.
DEADLINE_S = 900
#: Daily: a key is renewed a period before it expires, so a missed day or two costs nothing.
DAILY = "17 3 * * *"


@dataclass(frozen=True)
class ServiceUser:
    """Whose key: the Odoo user (the secret carries its login beside the key), its groups, the
    Kubernetes names of its issuing Job, and when that Job runs."""

    #: The user's login in Odoo.
    login: str
    #: Its groups (XML ids): the least its service needs.
    groups: Sequence[str]
    #: Service account, ConfigMap, NetworkPolicy and Job/CronJob name of the issuer.
    issuer: str
    #: A cron schedule (a CronJob rotates the key), or None: a Job issues it once, named
    #: `<issuer>-<run>`, and Pulumi waits for it.
    schedule: str | None
    #: Names the one-shot Job (a new value issues again); unused with a schedule.
    run: str = ""

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.issuer, "app.kubernetes.io/part-of": "smartdairy"}


#: The API gateway's user: an internal user, no administration right.
GATEWAY_USER = ServiceUser(login="api-gateway", groups=("base.group_user",), issuer="odoo-api-key", schedule=DAILY)
RESOURCES = ContainerResources.model_validate(
    {"cpuRequest": "100m", "cpuLimit": "1", "memoryRequest": "256Mi", "memoryLimit": "512Mi"}
)


@dataclass(frozen=True)
class OdooApiKeyArgs:
    #: Whose key, and how its issuer runs.
    service: ServiceUser
    #: What the secret is for (its description in Secrets Manager).
    purpose: str
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
    #: Pulumi `protect` on the secret (its loss cuts the service off Odoo until the next run).
    protect: bool


class OdooApiKey(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:odoo:OdooApiKey"

    def __init__(self, name: str, args: OdooApiKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        service = args.service
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            description=args.purpose,
            kms_key_id=args.key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # The first value holds no credential: the service's mount works from day one, and it
        # waits for a key (the CSI driver refreshes the file once the Job has put one).
        first_version(f"{name}-secret", secret.id, f'{{"login": "{service.login}", "key": ""}}', self)
        #: The service reads it (login, key); the Job reads and writes it.
        self.secret = SecretRef(secret.arn, args.key_arn)
        writes = secret_write_statements([secret.arn], [args.key_arn], args.pod_access.region)
        files, associations, account = odoo_job_access(
            name, service.issuer, args.namespace, args.db_secret, args.pod_access, writes, self
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=service.issuer, namespace=args.namespace, labels=service.labels),
            data={"issue.py": SCRIPT.read_text() + RUN},
            opts=child,
        )
        egress = odoo_job_egress(name, args.namespace, service.labels, args.pgbouncer, self)
        pod = _job_pod(args, files, account, script.metadata.name, secret.arn)
        after: list[pulumi.Resource] = [*associations, egress]
        #: The issuing Job (one-shot issuers): what the service's first pods wait for.
        self.issued = _issuer(name, args, pod, self, after)
        #: What PgBouncer's NetworkPolicy admits besides the applications.
        self.peer = PodPeer(service.labels, 0)
        self.register_outputs({"secretArn": secret.arn})


def _issuer(
    name: str, args: OdooApiKeyArgs, pod: dict, parent: pulumi.Resource, after: list[pulumi.Resource]
) -> k8s.batch.v1.Job | None:
    """A CronJob on the service's schedule; or one Job that Pulumi waits for (returned), with a
    suspended twin that deletes the keys and archives the user when resumed after the run."""
    service, labels = args.service, args.service.labels
    job = {"backoffLimit": 3, "activeDeadlineSeconds": DEADLINE_S, "template": pod}
    if service.schedule is not None:
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=service.issuer, namespace=args.namespace, labels=labels),
            spec={
                "schedule": service.schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": job},
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
        )
        return None
    revoking = _with_env(pod, {"REVOKE": "1"})
    suspended_job(
        f"{name}-revoke",
        f"{service.issuer}-revoke-{service.run}",
        args.namespace,
        {**job, "template": revoking},
        parent,
        after,
    )
    return k8s.batch.v1.Job(
        f"{name}-job",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{service.issuer}-{service.run}", namespace=args.namespace, labels=labels
        ),
        spec=job,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=after, custom_timeouts=pulumi.CustomTimeouts(create=f"{DEADLINE_S // 60 + 5}m")
        ),
    )


def _with_env(pod: dict, extra: dict[str, str]) -> dict:
    """`pod` whose main container has `extra` in its environment too."""
    [container] = pod["spec"]["containers"]
    env = [*container["env"], *({"name": k, "value": v} for k, v in extra.items())]
    return {**pod, "spec": {**pod["spec"], "containers": [{**container, "env": env}]}}


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
        "SERVICE_LOGIN": args.service.login,
        "SERVICE_GROUPS": ",".join(args.service.groups),
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
        args.service.labels,
        account,
        args.image,
        files,
        args.odoo_config_map,
        args.node_selector,
        [issuer],
        volumes=[{"name": "script", "configMap": {"name": script}}],
    )
