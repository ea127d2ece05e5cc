"""The data the seed's k6 journey needs, put in Odoo before a TestRun and archived after it.

Two Jobs run `seed.py` in Odoo's image as the load-test seeder's own Odoo user, with that user's
API key (issued into its own secret by an `OdooApiKey` one-shot issuer): they reach Odoo's web
pods over XML-RPC and nothing else, and never see a database credential. The seeding Job runs
before the TestRun (Pulumi waits for it); the cleanup Job is created suspended, and whoever ran
the test (the load-test workflow, or a person) resumes it once the TestRun has finished, since
only they know when that is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.apps.kubernetes_network_policies import DNS_EGRESS, tcp_ports
from components.k8s.pod_spec import ContainerResources, container_security_context, pod_security_context, pull_policy
from components.k8s.secret_files import PodAccess, SecretFiles, SecretObject, SecretRef, pod_secrets
from components.k8s.suspended_job import suspended_job
from components.k8s.workload import PodPeer

SCRIPT = Path(__file__).with_name("seed.py")
SCRIPT_DIR = "/etc/loadtest-seeder"
SERVICE_ACCOUNT = "loadtest-seeder"
LABELS = {"app.kubernetes.io/name": SERVICE_ACCOUNT, "app.kubernetes.io/part-of": "smartdairy"}
#: What the seed's k6 journey uses: user0…user9999, and 100 products (it picks among those it lists).
USERS = 10_000
PRODUCTS = 100
#: The seeding of 10,000 users (one password hash each) fits well within an hour.
DEADLINE_S = 3600
RESOURCES = ContainerResources.model_validate(
    {"cpuRequest": "100m", "cpuLimit": "500m", "memoryRequest": "128Mi", "memoryLimit": "256Mi"}
)


@dataclass(frozen=True)
class LoadTestDataArgs:
    #: Namespace of Odoo (the Jobs run beside it).
    namespace: pulumi.Input[str]
    #: Names the Jobs: one seeding and one cleanup per load-test run.
    run_id: str
    #: Odoo's image: it has the Python the script needs.
    image: str
    #: Odoo's web service URL (XML-RPC), and its database.
    odoo_url: str
    #: Odoo's database (XML-RPC names it in every call).
    database: pulumi.Input[str]
    #: Odoo's web pods: the Jobs' only destination.
    odoo: PodPeer
    #: The seeder's API key (login, key), from its issuer.
    key: SecretRef
    #: What the seeding Job waits for: the key's issuing Job.
    key_issued: Sequence[pulumi.Resource]
    #: Parallel XML-RPC calls (each holds one of Odoo's workers while it hashes passwords).
    seed_workers: int
    #: Where the pods get AWS access for their secret files.
    pod_access: PodAccess
    #: Node labels the Jobs' pods require.
    node_selector: Mapping[str, str]


class LoadTestData(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:load_test:LoadTestData"

    def __init__(self, name: str, args: LoadTestDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = SecretObject(args.key, {"login": "login", "key": "key"})
        files, identity = pod_secrets(
            name, f"{SERVICE_ACCOUNT}-key", args.namespace, [SERVICE_ACCOUNT], [key], args.pod_access, self
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            automount_service_account_token=False,
            opts=child,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace, labels=LABELS),
            data={"seed.py": SCRIPT.read_text()},
            opts=child,
        )
        egress = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=args.namespace),
            spec=seeder_policy(args.odoo),
            opts=child,
        )
        ready = [*identity.associations, egress, *args.key_issued]
        account_name = account.metadata.name
        # The cleanup exists before any data does: a seeding that fails half-way still has one.
        cleanup = suspended_job(
            f"{name}-cleanup",
            f"{SERVICE_ACCOUNT}-cleanup-{args.run_id}",
            args.namespace,
            _job_spec(_pod(args, "cleanup", files, account_name, script)),
            self,
            ready,
        )
        seeded = k8s.batch.v1.Job(
            f"{name}-seed",
            metadata={"name": f"{SERVICE_ACCOUNT}-seed-{args.run_id}", "namespace": args.namespace},
            spec=_job_spec(_pod(args, "seed", files, account_name, script)),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*ready, cleanup],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{DEADLINE_S // 60 + 5}m"),
            ),
        )
        #: What the TestRun waits for.
        self.seeded = seeded
        #: The cleanup Job's name: resume it (`spec.suspend: false`) once the run has finished.
        self.cleanup_job = f"{SERVICE_ACCOUNT}-cleanup-{args.run_id}"
        #: What Odoo's NetworkPolicy admits.
        self.peer = PodPeer(LABELS, 0)
        self.register_outputs({"cleanupJob": self.cleanup_job})


def _job_spec(pod: dict) -> dict:
    return {"backoffLimit": 2, "activeDeadlineSeconds": DEADLINE_S, "template": pod}


def seeder_policy(odoo: PodPeer) -> dict:
    """Odoo's web port and DNS; nothing reaches the seeder."""
    return {
        "podSelector": {"matchLabels": dict(LABELS)},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [
            {"to": [{"podSelector": {"matchLabels": dict(odoo.labels)}}], "ports": tcp_ports(odoo.port)},
            *DNS_EGRESS["egress"],
        ],
    }


def _pod(
    args: LoadTestDataArgs, mode: str, files: SecretFiles, account: pulumi.Input[str], script: k8s.core.v1.ConfigMap
) -> dict:
    environment = {
        "MODE": mode,
        "USERS": str(USERS),
        "PRODUCTS": str(PRODUCTS),
        "WORKERS": str(args.seed_workers),
        "ODOO_URL": args.odoo_url,
        "ODOO_DB": args.database,
        "KEY_DIR": files.directory,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    container = {
        "name": mode,
        "image": args.image,
        "imagePullPolicy": pull_policy(args.image),
        "command": ["python3", f"{SCRIPT_DIR}/seed.py"],
        "env": [{"name": key, "value": value} for key, value in environment.items()],
        "securityContext": container_security_context(),
        "resources": RESOURCES.as_k8s(),
        "volumeMounts": [files.mount, {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True}],
    }
    return {
        "metadata": {"labels": dict(LABELS)},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": account,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "nodeSelector": dict(args.node_selector),
            "containers": [container],
            "volumes": [files.volume, {"name": "script", "configMap": {"name": script.metadata.name}}],
        },
    }
