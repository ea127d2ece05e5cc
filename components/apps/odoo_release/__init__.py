"""An Odoo release: before pods of a new image (or module list) take traffic, a Job snapshots
the RDS primary, then installs the modules Odoo lacks and upgrades the rest with the new code
(`odoo -i ... -u ... --stop-after-init`). On an empty database that is the first install.

The Job's name is a digest of the image, the modules and the release revision, so each release
runs once; the web and bus pods carry it in an annotation, so they roll only after it completed
(Pulumi waits for a Job). A failed Job fails the `up` and the running pods keep serving the old
image; Odoo upgrades each module in its own transaction. Rollback after a completed release that
turns out bad is a restore of the snapshot it took (README "Real use", "Rolling back a release").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.apps.odoo_config import CONF
from components.apps.odoo_jobs import odoo_job_access, odoo_job_egress, odoo_job_pod
from components.aws.iam_documents import statement
from components.k8s.pod_spec import (
    ContainerResources,
    checksum,
    container_security_context,
    pull_policy,
)
from components.k8s.secret_files import PodAccess, SecretFiles, SecretRef
from components.k8s.workload import PodPeer

SERVICE_ACCOUNT = "odoo-release"
#: plan.py (which modules to install, which to upgrade), shipped to the pod as a ConfigMap.
PLAN_SCRIPT = Path(__file__).with_name("plan.py")
PLAN_DIR = "/etc/odoo-release"
#: Release snapshots kept per instance (the newest); older ones are deleted by the next release.
KEEP_SNAPSHOTS = 3
LABELS = {"app.kubernetes.io/name": SERVICE_ACCOUNT, "app.kubernetes.io/part-of": "smartdairy"}
#: Pod annotation naming the release the pods' image went through.
RELEASE_ANNOTATION = "smartdairy.io/odoo-release"
#: The snapshot and the upgrade together. Long enough for the first snapshot and a large
#: upgrade, short enough that the longest `up` still fits a deploy session (tools/longest_up.py).
DEADLINE_S = 3600
RESOURCES = ContainerResources.model_validate(
    {"cpuRequest": "500m", "cpuLimit": "2", "memoryRequest": "1Gi", "memoryLimit": "2Gi"}
)


@dataclass(frozen=True)
class ReleasePlan:
    """What the stack decides about releases; Odoo adds what it knows (OdooReleaseArgs)."""

    #: Modules to install when missing and to upgrade otherwise.
    modules: Sequence[str]
    #: Bump to run the release again with the same image and modules.
    revision: int
    #: AWS CLI image that takes the snapshot, pinned.
    snapshot_image: str
    #: The RDS primary's identifier: the Job snapshots it first.
    db_instance_id: pulumi.Input[str]
    #: The primary's ARN.
    db_instance_arn: pulumi.Input[str]
    #: PgBouncer's pods (the Job's only database path).
    pgbouncer: PodPeer
    #: Node labels the Job's pod requires.
    node_selector: Mapping[str, str]
    #: Odoo's public address (web.base.url), set and frozen after each release.
    base_url: str


@dataclass(frozen=True)
class OdooReleaseArgs:
    #: The stack's decisions.
    plan: ReleasePlan
    #: Namespace of Odoo.
    namespace: pulumi.Input[str]
    #: The image being released (the Job runs its code).
    image: str
    #: Odoo's ConfigMap: the Job renders odoo.conf from it as Odoo's pods do.
    odoo_config_map: pulumi.Input[str]
    #: Odoo's database credential (the owner role's secret).
    db_secret: SecretRef
    #: The session-mode pool: an upgrade holds its connection through long transactions.
    db_host: pulumi.Input[str]
    #: The filestore claim: an install writes attachments there.
    filestore_claim: pulumi.Input[str]
    #: Odoo's data_dir (the filestore's mount).
    data_dir: str
    #: Where the pods get AWS access (Pod Identity, region, the CSI driver for their secrets).
    pod_access: PodAccess


def release_name(args: OdooReleaseArgs) -> str:
    """The Job's name: one per image, module list and revision."""
    plan = args.plan
    return f"odoo-release-{checksum(args.image, ','.join(plan.modules), str(plan.revision))[:10]}"


def snapshot_command() -> str:
    """Snapshot the primary as `<instance>-<release>`, once (a retried pod finds it and waits),
    wait for it (the CLI's waiter gives up after 30 minutes: three tries), then delete this
    instance's release snapshots but the newest KEEP_SNAPSHOTS (RDS allows 100 manual ones)."""
    prefix = "$DB_INSTANCE-odoo-release-"
    oldest_first = f"sort_by(DBSnapshots[?starts_with(DBSnapshotIdentifier, '{prefix}')], &SnapshotCreateTime)"
    return (
        'aws rds describe-db-snapshots --db-snapshot-identifier "$SNAPSHOT" >/dev/null 2>&1 || '
        'aws rds create-db-snapshot --db-instance-identifier "$DB_INSTANCE" --db-snapshot-identifier "$SNAPSHOT" '
        '--tags Key=odoo-release,Value="$RELEASE" >/dev/null || exit 1; '
        'for try in 1 2 3; do aws rds wait db-snapshot-available --db-snapshot-identifier "$SNAPSHOT" && break; '
        '[ "$try" = 3 ] && exit 1; done; '
        'aws rds describe-db-snapshots --db-instance-identifier "$DB_INSTANCE" --snapshot-type manual '
        f'--query "{oldest_first}[:-{KEEP_SNAPSHOTS}].DBSnapshotIdentifier" --output text | tr "\\t" "\\n" | '
        'while read -r old; do [ -n "$old" ] && [ "$old" != None ] && '
        'aws rds delete-db-snapshot --db-snapshot-identifier "$old" >/dev/null; done; true'
    )


#: Run in `odoo shell` after the upgrade: Odoo's URLs (mails, portal links, redirects) use the
#: public address, frozen so an admin's login through another host never rewrites it.
BASE_URL_SCRIPT = (
    'params = env["ir.config_parameter"].sudo()\\n'
    'params.set_param("web.base.url", __import__("os").environ["BASE_URL"])\\n'
    'params.set_param("web.base.url.freeze", "True")\\n'
    "env.cr.commit()\\n"
)


def upgrade_command(conf: str) -> str:
    """Install the modules of $MODULES Odoo lacks and upgrade the others (plan.py decides: `-i`
    on an installed module would overwrite its noupdate data), stop (no demo data, no HTTP),
    then set the public address. The database host is $DB_HOST (the session-mode pool)."""
    options = f'-c {conf} --db_host="$DB_HOST" --no-http'
    return (
        f"flags=$(python3 {PLAN_DIR}/plan.py {conf}) && "
        f"odoo {options} $flags --without-demo=all --stop-after-init && "
        f"printf '{BASE_URL_SCRIPT}' | odoo shell {options}"
    )


class OdooRelease(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:odoo:OdooRelease"

    def __init__(self, name: str, args: OdooReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        job_name = release_name(args)
        snapshots = snapshot_statements(args.plan)
        files, associations, account = odoo_job_access(
            name, SERVICE_ACCOUNT, args.namespace, args.db_secret, args.pod_access, snapshots, self
        )
        egress = odoo_job_egress(name, args.namespace, LABELS, args.plan.pgbouncer, self)
        plan_map = k8s.core.v1.ConfigMap(
            f"{name}-plan",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            data={"plan.py": PLAN_SCRIPT.read_text()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job_name, namespace=args.namespace, labels=LABELS),
            spec={
                "backoffLimit": 2,
                "activeDeadlineSeconds": DEADLINE_S,
                "template": _job_pod(args, files, account, job_name, plan_map.metadata.name),
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[egress, *associations],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{DEADLINE_S // 60 + 5}m"),
            ),
        )
        #: The completed release: pods that annotate it start after it.
        self.name = job.metadata.name
        #: What PgBouncer's NetworkPolicy admits besides the applications.
        self.peer = PodPeer(LABELS, 0)
        self.register_outputs({"release": self.name})


def snapshot_statements(plan: ReleasePlan) -> list[dict]:
    """Snapshot this instance under its release names only, tag them, and watch them."""
    snapshots = pulumi.Output.all(plan.db_instance_arn, plan.db_instance_id).apply(
        lambda values: values[0].rsplit(":db:", 1)[0] + f":snapshot:{values[1]}-odoo-release-*"
    )
    return [
        statement(["rds:CreateDBSnapshot"], [plan.db_instance_arn, snapshots]),
        statement(["rds:DescribeDBSnapshots"], [plan.db_instance_arn, snapshots]),
        statement(["rds:AddTagsToResource", "rds:DeleteDBSnapshot"], [snapshots]),
    ]


def _job_pod(
    args: OdooReleaseArgs, files: SecretFiles, account: pulumi.Input[str], job_name: str, plan_map: pulumi.Input[str]
) -> dict:
    """The snapshot (AWS CLI), the config as Odoo's pods render it, then the upgrade."""
    plan, secured = args.plan, {"securityContext": container_security_context()}
    environment = {
        "DB_INSTANCE": plan.db_instance_id,
        "SNAPSHOT": pulumi.Output.concat(plan.db_instance_id, "-", job_name),
        "RELEASE": job_name,
        "AWS_REGION": args.pod_access.region,
        # The CLI writes its cache under $HOME; the image's is read-only.
        "HOME": "/home/aws",
    }
    snapshot = {
        "name": "snapshot",
        "image": plan.snapshot_image,
        "imagePullPolicy": pull_policy(plan.snapshot_image),
        "command": ["/bin/sh", "-c", snapshot_command()],
        "env": [{"name": key, "value": value} for key, value in environment.items()],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "volumeMounts": [{"name": "home", "mountPath": "/home/aws"}],
        **secured,
    }
    upgrade = {
        "name": "upgrade",
        "image": args.image,
        "imagePullPolicy": pull_policy(args.image),
        "command": ["/bin/sh", "-c", upgrade_command(CONF)],
        "env": [
            {"name": "DB_HOST", "value": args.db_host},
            {"name": "MODULES", "value": ",".join(plan.modules)},
            {"name": "BASE_URL", "value": plan.base_url},
        ],
        "resources": RESOURCES.as_k8s(),
        "volumeMounts": [
            {"name": "run", "mountPath": "/run/odoo"},
            {"name": "filestore", "mountPath": args.data_dir},
            {"name": "plan", "mountPath": PLAN_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        **secured,
    }
    return odoo_job_pod(
        LABELS,
        account,
        args.image,
        files,
        args.odoo_config_map,
        plan.node_selector,
        [upgrade],
        before=[snapshot],
        volumes=[
            {"name": "plan", "configMap": {"name": plan_map}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "filestore", "persistentVolumeClaim": {"claimName": args.filestore_claim}},
        ],
    )
