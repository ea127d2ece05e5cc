"""Controller IAM policies, taken verbatim from upstream at the pinned versions.

Controllers call exactly the APIs their maintainers' policy allows, with exactly the tags it
conditions on; a hand-written copy drifts (Karpenter 1.x tags instance profiles with
`karpenter.k8s.aws/ec2nodeclass`, never `karpenter.sh/nodepool`; the load balancer controller
edits the EKS cluster security group, which carries none of its own tags). So the documents live
in `vendor/` as upstream ships them (sources and versions in `vendor/SOURCES.json`), and
`tests/test_upstream_iam.py` compares what the program registers against them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).parent / "vendor"
SOURCES: dict[str, dict[str, str]] = json.loads((VENDOR / "SOURCES.json").read_text())
KARPENTER_POLICY = "karpenter-controller-policy.json"
LOAD_BALANCER_CONTROLLER_POLICY = "aws-load-balancer-controller-policy.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")


def cloudformation_sub(template: str, values: Mapping[str, str]) -> dict[str, Any]:
    """CloudFormation's `!Sub` on a JSON policy string; a placeholder without a value is an error."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for ${{{name}}} in the vendored policy")
        return values[name]

    return json.loads(_PLACEHOLDER.sub(value, template))


def karpenter_controller_policy(
    cluster: str, partition: str, region: str, account: str, queue_arn: str, node_role_arn: str
) -> dict[str, Any]:
    """Karpenter's controller policy for one cluster, as its CloudFormation template renders it."""
    return cloudformation_sub(
        (VENDOR / KARPENTER_POLICY).read_text(),
        {
            "ClusterName": cluster,
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "KarpenterInterruptionQueue.Arn": queue_arn,
            "KarpenterNodeRole.Arn": node_role_arn,
        },
    )


def load_balancer_controller_policy() -> dict[str, Any]:
    return json.loads((VENDOR / LOAD_BALANCER_CONTROLLER_POLICY).read_text())
