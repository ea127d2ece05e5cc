"""How long can the longest `pulumi up` of a stack take? The figure behind the deploy roles'
session length and the runners' build timeout (bootstrap `deploySessionHours`).

    tools/longest_up.py [build/<stack>/resources.json]   (after `make synth STACK=<stack>`)

Pulumi creates a resource once everything it depends on exists, and gives up on one at its
create timeout. So the longest an `up` can run and still succeed is the longest chain through
the dependency graph, each resource weighted by its create timeout: its own `custom_timeouts`,
else the provider's default (CREATE_TIMEOUT_MINUTES). A session shorter than that can expire in
the middle of an `up` that would have succeeded, leaving pending operations and a held lock.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

#: Default create timeouts, minutes: the Terraform AWS provider's documented `timeouts` defaults
#: (pulumi-aws wraps it), pulumi-kubernetes' await defaults, Helm's --timeout default.
CREATE_TIMEOUT_MINUTES = {
    "aws:rds/instance:Instance": 40,
    "aws:eks/cluster:Cluster": 30,
    "aws:eks/nodeGroup:NodeGroup": 60,
    "aws:eks/addon:Addon": 20,
    "aws:opensearch/domain:Domain": 60,
    "aws:elasticache/replicationGroup:ReplicationGroup": 60,
    "aws:cloudfront/distribution:Distribution": 70,
    "aws:acm/certificateValidation:CertificateValidation": 75,
    "aws:ec2/natGateway:NatGateway": 10,
    "aws:efs/mountTarget:MountTarget": 30,
    "aws:lambda/function:Function": 10,
    "kubernetes:helm.sh/v3:Release": 5,
    "kubernetes:apps/v1:Deployment": 10,
    "kubernetes:batch/v1:Job": 10,
    "kubernetes:core/v1:Service": 10,
    "kubernetes:networking.k8s.io/v1:Ingress": 10,
    "kubernetes:core/v1:PersistentVolumeClaim": 5,
}
#: Everything else (IAM, keys, alarms, most Kubernetes objects) is one API call.
OTHER_MINUTES = 1


def minutes(resource: Mapping) -> float:
    own = resource.get("options", {}).get("createTimeout") or ""
    match = re.fullmatch(r"(\d+)([smh])", own)
    if match:
        return int(match[1]) * {"s": 1 / 60, "m": 1, "h": 60}[match[2]]
    if resource["type"].startswith(("random:", "pulumi:providers:")):
        return 0
    return CREATE_TIMEOUT_MINUTES.get(resource["type"], OTHER_MINUTES)


def longest_chain(resources: Sequence[Mapping]) -> tuple[float, list[Mapping]]:
    """(total minutes, the chain) of the heaviest dependency path. A dependency on a component
    means one on everything under it, as the engine waits for a component's children."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        children.setdefault(r.get("parent", ""), []).append(r["urn"])

    def custom_under(urn: str) -> list[str]:
        found = [urn] if by_urn[urn].get("custom", True) else []
        return found + [u for child in children.get(urn, []) for u in custom_under(child)]

    def needs(r: Mapping) -> set[str]:
        """What the engine waits for: dependencies, property sources and the resource's provider
        (the Kubernetes provider waits for the cluster, its nodes and add-ons)."""
        options = r.get("options", {})
        direct = set(options.get("dependsOn", [])) | {
            u for us in options.get("propertyDependencies", {}).values() for u in us
        }
        direct.add((r.get("provider") or "").rsplit("::", 1)[0])
        return {u for d in direct if d in by_urn for u in custom_under(d)}

    @cache
    def finish(urn: str) -> tuple[float, tuple[str, ...]]:
        r = by_urn[urn]
        before = max((finish(d) for d in needs(r)), default=(0.0, ()))
        return before[0] + minutes(r), (*before[1], urn)

    total, chain = max((finish(r["urn"]) for r in resources if r.get("custom", True)), default=(0.0, ()))
    return total, [by_urn[u] for u in chain]


def render(total: float, chain: Sequence[Mapping]) -> str:
    lines = [f"{minutes(r):>6.0f} min  {r['type']}  {r['name']}" for r in chain if minutes(r) >= 1]
    return "\n".join([*lines, f"{total:>6.0f} min  longest create chain ({total / 60:.1f} h)"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resources", type=Path, help="build/<stack>/resources.json from make synth")
    args = parser.parse_args(argv)
    print(render(*longest_chain(json.loads(args.resources.read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
