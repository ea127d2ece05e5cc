"""The offline plan: what a change to the program or a stack file would do, from two synth outputs.

    tools/plan_diff.py OLD.json NEW.json [--markdown]
    tools/plan_diff.py --stack staging --base origin/main [--markdown]   (make diff STACK= BASE=)

Compares `build/<stack>/resources.json` of two runs (the second form synthesizes BASE in a git
worktree and the working tree here) and prints, per component, the resources to create, delete
and update; for updates, each changed input with old -> new; whether the change forces a
replacement (REPLACE_ON_CHANGE: the properties whose change the provider cannot apply in place,
kept small); and, loudly, protected resources that would be deleted or replaced. Secrets never
appear: a changed secret shows as "secret changed", from the digest synth records. Kubernetes
manifests are diffed as YAML. Then the monthly cost of the change, per component and resource,
from the two runs' estimates (build/<stack>/cost.json, beside resources.json). Needs no cloud
credentials, so it also runs for pull requests from forks, where the real `pulumi preview` has none.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cost.delta import CostDelta, compare, signed  # noqa: E402
from cost.inventory import outer_component  # noqa: E402

SECRET = "[secret]"
SECRET_CHANGED = "(secret changed)"
#: Type -> input paths whose change the provider applies by replacing the resource.
REPLACE_ON_CHANGE = {
    "aws:rds/instance:Instance": (
        "identifier",
        "engine",
        "kmsKeyId",
        "storageEncrypted",
        "availabilityZone",
        "username",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId"),
    "aws:eks/cluster:Cluster": ("name", "encryptionConfig", "roleArn"),
    "aws:eks/nodeGroup:NodeGroup": ("nodeRoleArn",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "vpcId"),
    "aws:opensearch/domain:Domain": ("domainName",),
    "aws:s3/bucket:Bucket": ("bucket",),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("clusterName", "principalArn", "policyArn"),
    "aws:iam/role:Role": ("name", "path"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": ("vpcId", "peerVpcId"),
    # ACM cannot change an issued certificate's names: a new one is requested and validated.
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames", "validationMethod", "keyAlgorithm"),
    # A group's description and name are fixed at creation (and a group on ENIs cannot go).
    "aws:ec2/securityGroup:SecurityGroup": ("description", "name", "vpcId"),
}
#: Kubernetes objects are replaced when their identity changes.
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")
#: Fields whose change pulumi-kubernetes answers with a replacement (its diff.go forceNew lists;
#: ConfigMaps too, as `enableConfigMapMutable` is off here): the object is deleted, then created.
KUBERNETES_REPLACED = {
    "kubernetes:batch/v1:Job": ("spec.template", "spec.selector", "spec.completions", "spec.parallelism"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": (
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
    ),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
    "kubernetes:core/v1:PersistentVolumeClaim": (
        "spec.storageClassName",
        "spec.accessModes",
        "spec.volumeName",
        "spec.selector",
    ),
    "kubernetes:core/v1:ConfigMap": ("data", "binaryData"),
}


def _turned_off(old: Any, new: Any) -> bool:
    return _truthy(old) and not _truthy(new)


def _turned_on(old: Any, new: Any) -> bool:
    return not _truthy(old) and _truthy(new)


def _truthy(value: Any) -> bool:
    # Some inputs are strings on the wire (a launch template's `encrypted: "true"`).
    return value is True or value == "true"


def _lowered(old: Any, new: Any) -> bool:
    return isinstance(old, (int, float)) and (not isinstance(new, (int, float)) or new < old)


def _removed(old: Any, new: Any) -> bool:
    return bool(old) and not new


def _widened(old: Any, new: Any) -> bool:
    """Does `new` admit more addresses than `old` (CIDRs, one or a list)? Moving a rule to another
    range of the same size (a renumbered VPC) is a change, not a widening."""
    return _addresses(new) > _addresses(old)


def _addresses(value: Any) -> int:
    return sum(ipaddress.ip_network(c, strict=False).num_addresses for c in _cidrs(value))


def _cidrs(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str) and "/" in v]


#: Input names (the last part of a path, list indexes dropped) whose change weakens a protection,
#: with the test that says it did. The plan lists these first, with protected deletions.
WEAKENINGS = {
    "deletionProtection": _turned_off,
    "skipFinalSnapshot": _turned_on,
    "backupRetentionPeriod": _lowered,
    "snapshotRetentionLimit": _lowered,
    "storageEncrypted": _turned_off,
    "atRestEncryptionEnabled": _turned_off,
    "transitEncryptionEnabled": _turned_off,
    "encrypted": _turned_off,
    "encryptAtRest.enabled": _turned_off,
    "nodeToNodeEncryption.enabled": _turned_off,
    "kmsKeyId": _removed,
    "publiclyAccessible": _turned_on,
    "endpointPublicAccess": _turned_on,
    "mapPublicIpOnLaunch": _turned_on,
    "blockPublicAcls": _turned_off,
    "blockPublicPolicy": _turned_off,
    "ignorePublicAcls": _turned_off,
    "restrictPublicBuckets": _turned_off,
    "publicAccessCidrs": _widened,
    "cidrIpv4": _widened,
    "cidrIpv6": _widened,
    "cidrBlocks": _widened,
}


#: Action -> its mark, in the order summaries list them.
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "+-"}


def tally(changes: list[Change]) -> dict[str, int]:
    """How many changes of each action, every action present (in SYMBOLS order)."""
    return {action: sum(c.action == action for c in changes) for action in SYMBOLS}


@dataclass
class Change:
    urn: str
    type: str
    name: str
    action: str  # create | delete | update | replace
    protected: bool = False
    details: list[str] = field(default_factory=list)
    #: What the change turns off or opens up ("deletionProtection: true -> false").
    weakenings: list[str] = field(default_factory=list)
    #: The changed input paths that force the replacement.
    replaced: list[str] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.action]


@dataclass
class Plan:
    changes: dict[str, list[Change]]  # component -> changes

    def counts(self) -> dict[str, int]:
        return tally([c for cs in self.changes.values() for c in cs])

    @property
    def dangerous(self) -> list[Change]:
        return [c for cs in self.changes.values() for c in cs if c.protected and c.action in ("delete", "replace")]

    @property
    def weakening(self) -> list[Change]:
        return [c for cs in self.changes.values() for c in cs if c.weakenings]

    @property
    def immutable(self) -> list[tuple[Change, str]]:
        """Kubernetes objects the provider replaces because such a field changed."""
        return [
            (c, path)
            for cs in self.changes.values()
            for c in cs
            if c.type.startswith("kubernetes:")
            for path in c.replaced
            if not path.startswith("metadata.")
        ]

    def summary(self) -> str:
        create, update, delete, replace = self.counts().values()
        line = f"+{create} ~{update} -{delete}"
        if replace:
            line += f" +-{replace}"
        if self.dangerous:
            line += f" ({len(self.dangerous)} replacement or deletion of a protected resource)"
        if self.weakening:
            line += f" ({len(self.weakening)} weakened protection)"
        return line if any((create, update, delete, replace)) else "no changes"


def plan(old: list[dict], new: list[dict]) -> Plan:
    before, after = {r["urn"]: r for r in old}, {r["urn"]: r for r in new}
    changes: dict[str, list[Change]] = defaultdict(list)
    for urn in sorted(after.keys() - before.keys()):
        r = after[urn]
        changes[outer_component(r, after)].append(Change(urn, r["type"], r["name"], "create"))
    for urn in sorted(before.keys() - after.keys()):
        r = before[urn]
        changes[outer_component(r, before)].append(Change(urn, r["type"], r["name"], "delete", _protected(r)))
    for urn in sorted(before.keys() & after.keys()):
        change = _update(before[urn], after[urn])
        if change:
            changes[outer_component(after[urn], after)].append(change)
    return Plan(dict(sorted(changes.items())))


#: Resource options that keep a resource (or what it protects) from `destroy`: turning one off
#: is a weakening.
LIFECYCLE_OPTIONS = ("protect", "retainOnDelete")


def _protected(resource: Mapping) -> bool:
    return bool(resource.get("options", {}).get("protect"))


def _update(old: Mapping, new: Mapping) -> Change | None:
    if not new.get("custom", True):
        return None
    digests = (old.get("secretDigests", {}), new.get("secretDigests", {}))
    changed = list(_paths(old["inputs"], new["inputs"], "", digests))
    protect = (_protected(old), _protected(new))
    lifecycle = [
        (option, before, after)
        for option in LIFECYCLE_OPTIONS
        if (before := bool(old.get("options", {}).get(option))) != (after := bool(new.get("options", {}).get(option)))
    ]
    if not changed and not lifecycle:
        return None
    forcing = _forcing(new["type"])
    replaced = [
        p for p, _, _ in changed if any(p == f or p.startswith(f"{f}.") or p.startswith(f"{f}[") for f in forcing)
    ]
    action = "replace" if replaced else "update"
    # A manifest's values show in its YAML diff below; other resources show them inline.
    manifest = new["type"].startswith("kubernetes:")
    details = [
        f"{path}: "
        + ("changed" if manifest and b != SECRET_CHANGED else f"{_show(a)} -> {_show(b)}")
        + (" (forces replacement)" if path in replaced else "")
        for path, a, b in changed
    ]
    weakenings = [
        f"{path}: {_show(a)} -> {_show(b)}" for path, a, b in _weakened(old["inputs"], new["inputs"], changed)
    ]
    for option, before, after in lifecycle:
        details.append(f"{option}: {before} -> {after}")
        if before:
            weakenings.insert(0, f"{option}: true -> false")
    if manifest and changed:
        details.append(_yaml_diff(old["inputs"], new["inputs"]))
    return Change(new["urn"], new["type"], new["name"], action, protect[0], details, weakenings, replaced)


def _weakened(old: Mapping, new: Mapping, changed: list[tuple[str, Any, Any]]) -> Iterator[tuple[str, Any, Any]]:
    """The changed inputs that WEAKENINGS flags; a CIDR list is judged whole, not per item."""
    seen = set()
    for path, _, _ in changed:
        parent = re.sub(r"\[\d+\]$", "", path)
        for name, test in WEAKENINGS.items():
            if (parent == name or parent.endswith(f".{name}")) and parent not in seen:
                seen.add(parent)
                a, b = _at(old, parent), _at(new, parent)
                if test(a, b):
                    yield parent, a, b


def _at(value: Any, path: str) -> Any:
    for part in re.split(r"\.|\[|\]", path):
        if part == "":
            continue
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _forcing(type_: str) -> tuple[str, ...]:
    if type_.startswith("kubernetes:"):
        return (*KUBERNETES_IDENTITY, *KUBERNETES_REPLACED.get(type_, ()))
    return REPLACE_ON_CHANGE.get(type_, ())


def _paths(old: Any, new: Any, path: str, digests: tuple[Mapping, Mapping]) -> Iterator[tuple[str, Any, Any]]:
    if old == SECRET or new == SECRET:
        # Digests exist since synth records them; a base older than that compares masks only.
        known = path in digests[0] and path in digests[1]
        if old != new or (known and digests[0][path] != digests[1][path]):
            yield path, "(secret)", SECRET_CHANGED
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from _paths(old.get(key), new.get(key), f"{path}.{key}" if path else key, digests)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _paths(a, b, f"{path}[{i}]", digests)
    elif old != new:
        yield path, old, new


def _show(value: Any) -> str:
    text = value if isinstance(value, str) and value.startswith("(secret") else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _yaml_diff(old: Mapping, new: Mapping) -> str:
    """Unified diff of two manifests; a multi-line string (a config file) becomes its lines."""
    a = yaml.safe_dump(_lines(old), sort_keys=True, width=1000).splitlines()
    b = yaml.safe_dump(_lines(new), sort_keys=True, width=1000).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "before", "after", lineterm="", n=1))


def _lines(value: Any) -> Any:
    if isinstance(value, str) and "\n" in value:
        return value.splitlines()
    if isinstance(value, dict):
        return {k: _lines(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lines(v) for v in value]
    return value


def render_text(p: Plan, title: str) -> str:
    lines = [f"{title}: {p.summary()}"]
    for danger in p.dangerous:
        lines.append(f"!! PROTECTED {danger.type} {danger.name} would be {danger.action}d")
    for weak in p.weakening:
        lines += [f"!! WEAKENS {weak.type} {weak.name}: {w}" for w in weak.weakenings]
    for change, path in p.immutable:
        lines.append(f"!  REPLACES {change.type} {change.name}: {path} changed (deleted, then created)")
    for component, changes in p.changes.items():
        lines += ["", component]
        for c in changes:
            lines.append(f"  {c.symbol} {c.type} {c.name}")
            lines += [f"      {line}" for detail in c.details for line in detail.splitlines()]
    return "\n".join(lines)


def render_markdown(p: Plan, title: str) -> str:
    lines = [f"### {title}: `{p.summary()}`", ""]
    for danger in p.dangerous:
        lines.append(f"> **:warning: protected `{danger.type}` `{danger.name}` would be {danger.action}d**")
    for weak in p.weakening:
        lines += [f"> **:warning: weakens `{weak.type}` `{weak.name}`: `{w}`**" for w in weak.weakenings]
    for change, path in p.immutable:
        lines.append(f"> :recycle: replaces `{change.type}` `{change.name}`: `{path}` changed (deleted, then created)")
    if p.dangerous or p.weakening or p.immutable:
        lines.append("")
    for component, changes in p.changes.items():
        counts = " ".join(f"{s}{n}" for s, n in _component_counts(changes))
        lines += [f"<details><summary><code>{component}</code> {counts}</summary>", "", "```diff"]
        for c in changes:
            lines.append(f"{'!' if c.action == 'replace' else c.symbol[0]} {c.type} {c.name} ({c.action})")
            for detail in c.details:
                # A manifest's YAML diff keeps its +/- in column one, so GitHub colours it.
                manifest_diff = detail.startswith("--- before")
                lines += [line if manifest_diff else f"    {line}" for line in detail.splitlines()]
        lines += ["```", "", "</details>"]
    return "\n".join(lines)


def _component_counts(changes: list[Change]) -> list[tuple[str, int]]:
    return [(SYMBOLS[action], n) for action, n in tally(changes).items() if n]


def cost_lines(old: dict | None, new: dict | None, markdown: bool) -> list[str]:
    """The change's monthly cost per component, and the resources that make it."""
    if new is None:
        return []
    if old is None:
        return ["", "monthly cost: the base has no estimate (build/<stack>/cost.json; it predates cost/)"]
    delta = compare(old, new)
    return _cost_markdown(delta) if markdown else _cost_text(delta)


def _cost_text(delta: CostDelta) -> list[str]:
    lines = ["", delta.summary()]
    for c in delta.components:
        lines.append(f"  {c.component}: {_per_month(c.usd)}")
        lines += [f"    {r.line()}" for r in c.resources]
    return lines


def _per_month(usd: Mapping[str, float]) -> str:
    """The change sized for the target, and at the other points where they differ from it."""
    others = [
        f"{point} {signed(value)}"
        for point, value in usd.items()
        if point != "target" and abs(value - usd["target"]) >= 0.5
    ]
    return f"{signed(usd['target'])}/month" + (f" ({', '.join(others)})" if others else "")


def _cost_markdown(delta: CostDelta) -> list[str]:
    lines = ["", f"#### {delta.summary()}"]
    if delta.components:
        lines += ["", "| component | change | per month (sized for the target) |", "|---|---|---:|"]
        for c in delta.components:
            lines.append(f"| `{c.component}` | | **{_per_month(c.usd)}** |")
            lines += [f"| | {r.change} `{r.type}` `{r.name}` ({r.what}) | {signed(r.usd)} |" for r in c.resources]
    return lines


def synth_output(tree: Path, stack: str) -> tuple[list[dict], dict | None]:
    """The tree's inventory, and its estimate (None for a tree that predates cost/)."""
    subprocess.run(
        [sys.executable, "tools/synth.py", stack, "--skip-policies"], cwd=tree, check=True, capture_output=True
    )
    build = tree / "build" / stack
    return json.loads((build / "resources.json").read_text()), _estimate(build / "cost.json")


def _estimate(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def from_git(stack: str, base: str) -> tuple[tuple[list[dict], dict | None], tuple[list[dict], dict | None]]:
    """Synthesize `base` (a git ref) in a temporary worktree, and this working tree."""
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), base], cwd=ROOT, check=True, capture_output=True
        )
        try:
            old = synth_output(worktree, stack)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
    return old, synth_output(ROOT, stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="OLD.json NEW.json")
    parser.add_argument("--stack", help="synthesize this stack at --base and here")
    parser.add_argument("--base", default="origin/main", help="git ref to compare with (default origin/main)")
    parser.add_argument("--markdown", action="store_true", help="Markdown for a pull-request comment")
    args = parser.parse_args(argv)
    if args.stack:
        (old, old_cost), (new, new_cost) = from_git(args.stack, args.base)
        title = f"Plan for {args.stack} against {args.base}"
    elif len(args.files) == 2:
        old, new = (json.loads(f.read_text()) for f in args.files)
        old_cost, new_cost = (_estimate(f.parent / "cost.json") for f in args.files)
        title = f"Plan {args.files[0]} -> {args.files[1]}"
    else:
        parser.error("give OLD.json NEW.json, or --stack")
    result = plan(old, new)
    print(render_markdown(result, title) if args.markdown else render_text(result, title))
    print("\n".join(cost_lines(old_cost, new_cost, args.markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
