"""`make cluster-test STACK=<name> [BASE=<git ref>]`: the stack's rendered Kubernetes objects
against a real control plane on loopback: etcd, kube-apiserver (its default admission plugins,
PodSecurity among them; not EKS's NodeRestriction or webhooks), kube-controller-manager and
kube-scheduler of the stacks' minor, and kwok's controller, started by kwokctl's binary runtime
with the binaries `make cluster-tools` built.

It installs the CRDs the objects use (tests/fixtures/crds/, upstream files at the pinned
versions, SOURCES.json says which), applies every object of build/<stack>/manifests/ with
server-side apply (namespaces and CRD-backed kinds in dependency order), waits for the
controllers, and prints a table: objects accepted or rejected (with the API server's message),
pods the controllers created, and pods PodSecurity refused. Helm releases are listed, not
applied: their charts cannot be fetched offline. With BASE, the base's objects are applied first
and the working tree's become updates: every update the server refuses (immutable fields) is
listed (the provider replaces some of those objects; `make diff` says which). Exit 1 when
anything was rejected or refused, 2 on bad input (an unknown stack, a base that is no commit).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CRDS = ROOT / "tests" / "fixtures" / "crds"
#: Kinds applied first, in this order: what others live in or are checked against.
FIRST = ("Namespace", "CustomResourceDefinition", "StorageClass", "PriorityClass", "ServiceAccount", "ConfigMap")
FIELD_MANAGER = "cluster-test"


@dataclass(frozen=True)
class Outcome:
    kind: str
    name: str
    accepted: bool
    message: str = ""


def manifests(stack: str, tree: Path = ROOT) -> list[dict]:
    """The stack's rendered objects (`make synth` writes them), namespaces and CRDs first."""
    directory = tree / "build" / stack / "manifests"
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: run `make synth STACK={stack}` first")
    objects = [doc for path in sorted(directory.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return sorted(objects, key=lambda o: FIRST.index(o["kind"]) if o["kind"] in FIRST else len(FIRST))


def crds() -> list[dict]:
    return [doc for path in sorted(CRDS.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def apply_all(client: Any, objects: Iterable[dict]) -> list[Outcome]:
    """Server-side apply of each object; the API server's refusal is the outcome's message."""
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

    outcomes = []
    for body in objects:
        meta = body["metadata"]
        try:
            resource = client.resources.get(api_version=body["apiVersion"], kind=body["kind"])
            client.server_side_apply(
                resource, body=body, name=meta["name"], namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER, force_conflicts=True,
            )  # fmt: skip
            outcomes.append(Outcome(body["kind"], _name(meta), True))
        except ResourceNotFoundError:
            outcomes.append(
                Outcome(body["kind"], _name(meta), False, f"no CRD for {body['apiVersion']} {body['kind']}")
            )
        except DynamicApiError as error:
            outcomes.append(Outcome(body["kind"], _name(meta), False, _message(error)))
        if body["kind"] == "CustomResourceDefinition":
            client.resources.invalidate_cache()
    return outcomes


def install_crds(client: Any, documents: list[dict], timeout_s: float = 60.0) -> list[Outcome]:
    """Applies the CRDs and waits until the API server serves each (condition Established), as
    `kubectl wait --for=condition=Established` does: an object applied sooner is refused as of a
    kind the server does not know yet."""
    outcomes = apply_all(client, documents)
    definitions = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    pending = {doc["metadata"]["name"] for doc, outcome in zip(documents, outcomes, strict=True) if outcome.accepted}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            status = definitions.get(name=name).status  # none yet on a definition just made
            conditions = (status.conditions if status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    client.resources.invalidate_cache()
    late = [Outcome("CustomResourceDefinition", name, False, f"not established in {timeout_s:g} s") for name in pending]
    return outcomes + sorted(late, key=lambda o: o.name)


def _name(meta: dict) -> str:
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def _message(error: Any) -> str:
    try:
        return json.loads(error.body)["message"]
    except (ValueError, KeyError, TypeError):
        return str(error).splitlines()[0]


def pod_security_refusals(core: Any) -> list[str]:
    """FailedCreate events whose message is PodSecurity's (the controllers' pods it refused)."""
    events = core.list_event_for_all_namespaces(field_selector="reason=FailedCreate").items
    return sorted(
        {
            f"{e.involved_object.namespace}/{e.involved_object.name}: {e.message}"
            for e in events
            if "PodSecurity" in e.message
        }
    )


@dataclass(frozen=True)
class Report:
    """What one run of a stack found."""

    outcomes: Sequence[Outcome]
    nodes: int
    pods: int
    refused: Sequence[str]
    #: After every HPA's target was scaled to maxReplicas: pods scheduled, and the pending ones
    #: with the scheduler's reason.
    scheduled: int
    unschedulable: Sequence[str]
    #: PDBs allowing no disruption at the workloads' minimum replicas.
    blocking_pdbs: Sequence[str]
    jobs_complete: int
    jobs: int
    releases: Sequence[str]
    #: With a base: the updates from the base's objects the server refused (immutable fields:
    #: Pulumi must replace those objects), and the base's own rejections.
    refused_updates: Sequence[Outcome] = ()
    base: str | None = None

    @property
    def failed(self) -> bool:
        rejected = any(not o.accepted for o in self.outcomes)
        return rejected or bool(self.refused) or bool(self.unschedulable) or bool(self.refused_updates)


def render(stack: str, r: Report) -> str:
    accepted = sum(o.accepted for o in r.outcomes)
    return "\n".join(
        [
            f"cluster-test {stack} ({r.nodes} kwok nodes modelling its pools)",
            f"  objects accepted {accepted}, rejected {len(r.outcomes) - accepted}",
            *(f"    REJECTED {o.kind} {o.name}: {o.message}" for o in r.outcomes if not o.accepted),
            f"  pods created by the controllers {r.pods}, refused by PodSecurity {len(r.refused)}",
            *(f"    REFUSED {line}" for line in r.refused),
            f"  at maxReplicas: pods scheduled {r.scheduled}, unschedulable {len(r.unschedulable)}",
            *(f"    UNSCHEDULABLE {line}" for line in r.unschedulable),
            f"  PDBs allowing no disruption at minimum replicas: {', '.join(r.blocking_pdbs) or 'none'}",
            f"  Jobs complete {r.jobs_complete} of {r.jobs}",
            *(
                [f"  updates from {r.base} refused {len(r.refused_updates)} (these objects must be replaced)"]
                + [f"    REFUSED UPDATE {o.kind} {o.name}: {o.message}" for o in r.refused_updates]
                if r.base
                else []
            ),
            f"  Helm releases not applied (charts cannot be fetched offline): {', '.join(r.releases) or 'none'}",
        ]
    )


def helm_releases(stack: str) -> list[str]:
    resources = json.loads((ROOT / "build" / stack / "resources.json").read_text())
    return sorted(r["inputs"]["name"] for r in resources if r["type"] == "kubernetes:helm.sh/v3:Release")


class Cluster:
    """kwokctl's binary runtime with the built binaries: any cluster left in the work directory
    by an interrupted run is deleted first, and this one is deleted on exit or on a failed start.
    kwokctl's output goes to `kwokctl.log` there."""

    def __init__(self, tools: Path, name: str, workdir: Path):
        self.tools, self.name, self.kubeconfig = tools, name, workdir / "kubeconfig"
        self.log = workdir / "kwokctl.log"
        # HOME too: kwokctl's client caches discovery under $HOME/.kube (the current directory
        # without one); both stay in the work directory. Its kubectl is the built one.
        self.env = {"KWOK_WORKDIR": str(workdir), "HOME": str(workdir), "PATH": f"{tools}:/usr/bin:/bin"}

    def kwokctl(self, *args: str, check: bool = True) -> None:
        with self.log.open("a") as log:
            subprocess.run(
                [str(self.tools / "kwokctl"), "--name", self.name, *args],
                check=check,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def __enter__(self) -> Cluster:
        binaries = {
            "--kube-apiserver-binary": "kube-apiserver",
            "--kube-controller-manager-binary": "kube-controller-manager",
            "--kube-scheduler-binary": "kube-scheduler",
            "--etcd-binary": "etcd",
            "--kwok-controller-binary": "kwok",
        }
        flags = [f"{flag}={self.tools / binary}" for flag, binary in binaries.items()]
        self.delete()
        try:
            self.kwokctl(
                "create", "cluster", "--runtime", "binary", "--kube-admission", "--kube-authorization",
                "--kubeconfig", str(self.kubeconfig), "--wait", "120s", *flags,
            )  # fmt: skip
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        self.kwokctl("delete", "cluster", "--kubeconfig", str(self.kubeconfig), check=False)

    def __exit__(self, *exc: object) -> None:
        self.delete()


def run(stack: str, tools: Path, base: tuple[str, list[dict]] | None = None) -> int:
    """`base`: (its ref, its objects), applied first; the working tree's are then updates."""
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient

    objects = manifests(stack)
    workdir = ROOT / "build" / stack / "cluster"
    workdir.mkdir(parents=True, exist_ok=True)
    with Cluster(tools, f"sd-{stack}", workdir) as cluster:
        api = config.new_client_from_config(str(cluster.kubeconfig))
        dynamic = DynamicClient(api)
        installed = install_crds(dynamic, crds())
        modelled = stack_nodes(stack, objects)
        apply_all(dynamic, modelled)
        before = apply_all(dynamic, base[1]) if base else []
        outcomes = apply_all(dynamic, objects)
        apply_all(dynamic, provisioned_volumes(objects))
        report = observe(api, [*(o for o in installed if not o.accepted), *outcomes], len(modelled), stack)
    if base:
        # "field is immutable", or "updates to ... are forbidden" (StorageClass, StatefulSet).
        refused = [o for o in outcomes if not o.accepted and ("immutable" in o.message or "forbidden" in o.message)]
        kept = [o for o in report.outcomes if o not in refused] + [o for o in before if not o.accepted]
        report = dataclasses.replace(report, outcomes=kept, refused_updates=refused, base=base[0])
    print(render(stack, report))
    return 1 if report.failed else 0


def base_objects(stack: str, ref: str) -> list[dict]:
    """The stack's rendered objects at `ref` (synthesized in a temporary git worktree)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True
        )
        try:
            subprocess.run(
                [sys.executable, "tools/synth.py", stack, "--skip-policies"], cwd=tree, check=True, capture_output=True
            )
            return manifests(stack, tree)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def stack_nodes(stack: str, objects: Sequence[dict]) -> list[dict]:
    from stacks.stack_file import load_stack
    from tools.cluster_nodes import karpenter_pool, nodes, system_pool

    config, _ = load_stack(stack)
    system = config.cluster.system_nodes
    pools = [system_pool(system.instance_types, system.max_size)]
    pools += [karpenter_pool(o) for o in objects if o["kind"] == "NodePool"]
    zones = [f"{config.region}{letter}" for letter in "abcdef"[: config.network.az_count]]
    return nodes(pools, zones)


def provisioned_volumes(objects: Sequence[dict]) -> list[dict]:
    """A bound PersistentVolume per claim, as the CSI driver (an EKS add-on the test cluster does
    not run) would provision it: its class, size and access modes, a handle that names it."""
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{claim['metadata']['namespace']}-{claim['metadata']['name']}"},
            "spec": {
                "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                "accessModes": claim["spec"]["accessModes"],
                "storageClassName": claim["spec"]["storageClassName"],
                "persistentVolumeReclaimPolicy": "Retain",
                "csi": {"driver": "provisioned.cluster-test", "volumeHandle": claim["metadata"]["name"]},
                "claimRef": {"namespace": claim["metadata"]["namespace"], "name": claim["metadata"]["name"]},
            },
        }
        for claim in objects
        if claim["kind"] == "PersistentVolumeClaim"
    ]


def observe(api: Any, outcomes: list[Outcome], node_count: int, stack: str) -> Report:
    """Let the controllers work, read PDBs at minimum replicas, scale every HPA's target to its
    maximum, then read what the scheduler made of it."""
    from kubernetes import client

    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    time.sleep(20)
    blocking = [
        f"{p.metadata.namespace}/{p.metadata.name}"
        for p in policy.list_pod_disruption_budget_for_all_namespaces().items
        if (p.status.disruptions_allowed or 0) < 1
    ]
    for hpa in client.AutoscalingV2Api(api).list_horizontal_pod_autoscaler_for_all_namespaces().items:
        ref = hpa.spec.scale_target_ref
        apps.patch_namespaced_deployment_scale(
            ref.name, hpa.metadata.namespace, {"spec": {"replicas": hpa.spec.max_replicas}}
        )
    time.sleep(30)
    pods = core.list_pod_for_all_namespaces().items
    pending = [
        f"{p.metadata.namespace}/{p.metadata.name}: {c.message}"
        for p in pods
        for c in p.status.conditions or []
        if c.type == "PodScheduled" and c.status == "False"
    ]
    jobs = client.BatchV1Api(api).list_job_for_all_namespaces().items
    return Report(
        outcomes=outcomes,
        nodes=node_count,
        pods=len(pods),
        refused=pod_security_refusals(core),
        scheduled=sum(1 for p in pods if p.spec.node_name),
        unschedulable=sorted(pending),
        blocking_pdbs=sorted(blocking),
        jobs_complete=sum(1 for j in jobs if (j.status.succeeded or 0) > 0),
        jobs=len(jobs),
        releases=helm_releases(stack),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--tools", type=Path, help="directory of the built binaries (make cluster-tools)")
    parser.add_argument("--base", help="a git ref: apply its objects first, then report the refused updates")
    args = parser.parse_args(argv)
    if not (ROOT / f"Pulumi.{args.stack}.yaml").is_file():
        print(f"error: STACK: no stack {args.stack!r} (no Pulumi.{args.stack}.yaml)", file=sys.stderr)
        return 2
    if (
        args.base
        and subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{args.base}^{{commit}}"], cwd=ROOT, capture_output=True
        ).returncode
    ):
        print(f"error: BASE: no commit {args.base!r} in this repository", file=sys.stderr)
        return 2
    tools = args.tools or Path(
        subprocess.run(["bash", str(ROOT / "tools" / "cluster-tools.sh")], check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    return run(args.stack, tools, (args.base, base_objects(args.stack, args.base)) if args.base else None)


if __name__ == "__main__":
    sys.exit(main())
