"""The AWS half of a stack's inventory as a Terraform plan (JSON), the form checkov's
`terraform_plan` framework reads: `make scan` scans both halves (#24).

Pulumi's AWS provider is Terraform's AWS provider bridged, so each resource has a Terraform type
and the same attributes, camelCased; nested blocks Pulumi flattens to one object (or names in the
plural) are blocks again here. Each property's dependencies become the expression references
checkov's graph checks follow (a secret and the rotation that names it). Secret values stay
masked. What cannot translate faithfully is listed, with its reason, in `.checkov-aws.yaml`.

    python tools/tf_plan.py build/prod/resources.json > build/prod/tfplan.json
    python tools/tf_plan.py --skips staging     # the checks that stack skips, comma-separated
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

#: Pulumi modules whose Terraform types drop the module name (`aws:ec2/vpc:Vpc` -> aws_vpc).
BARE_MODULES = {"ec2"}
#: The exceptions to `aws_<module>_<resource>` (and to BARE_MODULES).
TYPES = {
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:ec2/tag:Tag": "aws_ec2_tag",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:lambda/invocation:Invocation": "aws_lambda_invocation",
}
#: Attributes that are maps in Terraform, not blocks.
MAPS = {"tags", "tags_all", "variables", "dimensions", "triggers", "keepers"}
#: Repeated blocks whose Terraform name is plural already (Pulumi pluralizes the singular ones).
PLURAL_BLOCKS = {"log_publishing_options", "block_device_mappings", "redacted_fields"}


def tf_type(token: str) -> str:
    if token in TYPES:
        return TYPES[token]
    module, name = token.split(":")[1].split("/")[0], token.split(":")[2]
    resource = snake(name)
    return f"aws_{resource}" if module in BARE_MODULES else f"aws_{module.lower()}_{resource}"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def singular(name: str) -> str:
    """Terraform's name of a repeated block Pulumi names in the plural."""
    if name in PLURAL_BLOCKS:
        return name
    for plural, one in (("ies", "y"), ("ses", "s"), ("s", "")):
        if name.endswith(plural):
            return name[: -len(plural)] + one
    return name


def value(key: str, item: Any) -> Any:
    """A property as Terraform holds it: objects become one-element block lists (maps stay)."""
    if isinstance(item, dict):
        return dict(item) if key in MAPS else [attributes(item)]
    if isinstance(item, list):
        return [attributes(v) if isinstance(v, dict) else v for v in item]
    return item


def attributes(inputs: dict[str, Any]) -> dict[str, Any]:
    """Snake-cased attributes; repeated blocks under their Terraform (singular) names."""
    found = {}
    for name, item in inputs.items():
        key = snake(name)
        if isinstance(item, list) and item and all(isinstance(v, dict) for v in item):
            key = singular(key)
        found[key] = value(key, item)
    return found


def references_of(address: str) -> tuple[str, str]:
    """How an expression names another resource in a plan's configuration."""
    return (f"{address}.id", address)


def plan(resources: list[dict[str, Any]]) -> dict[str, Any]:
    aws = [r for r in resources if r["type"].startswith("aws:") and r.get("custom")]
    address = {r["urn"]: f"{tf_type(r['type'])}.{r['name']}" for r in aws}
    planned, changes, configured = [], [], []
    for r in aws:
        kind, values = tf_type(r["type"]), attributes(r["inputs"])
        common = {"address": address[r["urn"]], "mode": "managed", "type": kind, "name": r["name"]}
        planned.append({**common, "provider_name": "registry.terraform.io/hashicorp/aws", "values": values})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": values}})
        references = {
            snake(prop): {
                "references": [ref for urn in urns if urn in address for ref in (f"{address[urn]}.id", address[urn])]
            }
            for prop, urns in r["options"].get("propertyDependencies", {}).items()
        }
        configured.append({**common, "provider_config_key": "aws", "expressions": references})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": configured}},
    }


ROOT = Path(__file__).resolve().parent.parent


def skips(stack: str) -> list[str]:
    """The checks a stack skips: every stack's (.checkov-aws.yaml), and its own, if it has any
    (.checkov-aws-<stack>.yaml). checkov's --skip-check replaces the config file's list, hence one list."""
    files = [ROOT / ".checkov-aws.yaml", ROOT / f".checkov-aws-{stack}.yaml"]
    return [check for f in files if f.exists() for check in yaml.safe_load(f.read_text())["skip-check"]]


def main(argv: list[str]) -> int:
    if argv[1] == "--skips":
        print(",".join(skips(argv[2])))
        return 0
    resources = json.loads(Path(argv[1]).read_text())
    json.dump(plan(resources), sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
