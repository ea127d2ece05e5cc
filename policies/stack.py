"""Stack-wide rules: tags, protection of stateful resources, the PgBouncer connection budget."""

from __future__ import annotations

import json
import re

from registry import RECOMMENDATION, as_list, of_type, stack_rule

REQUIRED_TAGS = ("Project", "Environment", "Owner", "CostCenter", "ManagedBy")
#: AWS types without tags: their parent resource carries them.
UNTAGGABLE = re.compile(
    r"aws:(ec2/(route|routeTableAssociation|defaultSecurityGroup|tag)|iam/(rolePolicy|rolePolicyAttachment)|"
    r"s3/bucket(?!:)\w+|kms/alias|cloudfront/|route53/record|acm/certificateValidation|eks/(accessPolicyAssociation)|"
    r"sqs/queuePolicy|cloudwatch/eventTarget|efs/(mountTarget|backupPolicy)|vpc/securityGroup(Ingress|Egress)Rule|"
    r"secretsmanager/secretVersion|elasticache/(parameterGroup)|rds/parameterGroup)"
)
STATEFUL = (
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:efs/fileSystem:FileSystem",
    "aws:eks/cluster:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
)
BUDGET_SHARE = 0.85


def _tags(value) -> dict:
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("{") else {}
    value = value or {}
    return dict(value.get("tags", value)) if isinstance(value, dict) else {}


@stack_rule(
    "required-tags",
    "Every taggable AWS resource carries Project, Environment, Owner, CostCenter and "
    "ManagedBy, through its provider's default_tags or its own tags.",
    severity="medium",
)
def required_tags(resources, config):
    required = as_list(config.get("tags")) or list(REQUIRED_TAGS)
    for resource in resources:
        if not resource.resource_type.startswith("aws:") or UNTAGGABLE.match(resource.resource_type):
            continue
        provider_tags = _tags((resource.provider.props or {}).get("defaultTags")) if resource.provider else {}
        own = _tags(resource.props.get("tags"))
        missing = [t for t in required if t not in provider_tags and t not in own]
        if missing:
            yield resource.urn, f"missing tags {', '.join(missing)}"


@stack_rule(
    "stateful-resources-protected",
    "Databases, caches, buckets, keys, secrets, file systems and the "
    "cluster are protected from deletion where the stack demands it (config: required).",
    kind=RECOMMENDATION,
)
def stateful_protected(resources, config):
    if not config.get("required", True):
        return
    for resource in of_type(resources, *STATEFUL):
        if not resource.opts.protect:
            yield resource.urn, "stateful resource without protect"


def _ini(text: str) -> dict[str, str]:
    pairs = (line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith(";"))
    return {k.strip(): v.strip() for k, v in pairs}


@stack_rule(
    "pgbouncer-connection-budget",
    "All PgBouncer pods of all pools together fit in 85 % of RDS max_connections on every target database.",
)
def pgbouncer_budget(resources, config):
    max_connections = None
    for group in of_type(resources, "aws:rds/parameterGroup:ParameterGroup"):
        for parameter in as_list(group.props.get("parameters")):
            if parameter.get("name") == "max_connections":
                max_connections = int(parameter.get("value"))
    if max_connections is None:
        return
    replicas = [r for r in of_type(resources, "aws:rds/instance:Instance") if r.props.get("replicateSourceDb")]
    pods = {
        (d.props.get("metadata") or {}).get("name"): int((d.props.get("spec") or {}).get("replicas", 1))
        for d in of_type(resources, "kubernetes:apps/v1:Deployment")
    }
    on_primary, on_each_replica, anchor = 0, 0, None
    for config_map in of_type(resources, "kubernetes:core/v1:ConfigMap"):
        name = (config_map.props.get("metadata") or {}).get("name", "")
        text = (config_map.props.get("data") or {}).get("pgbouncer.ini")
        if not text or name not in pods:
            continue
        anchor = anchor or config_map.urn
        settings = _ini(text)
        per_pod = int(settings.get("max_db_connections") or 0) or (
            int(settings.get("default_pool_size", 20)) + int(settings.get("reserve_pool_size", 0))
        )
        servers = pods[name] * per_pod
        if name.endswith("-ro") and replicas:
            on_each_replica += servers
        else:
            on_primary += servers
    limit = int(max_connections * BUDGET_SHARE)
    for target, used in (("primary", on_primary), ("each replica", on_each_replica)):
        if used > limit:
            yield (
                anchor,
                f"PgBouncer can open {used} server connections on the {target}, "
                f"over {limit} (85 % of {max_connections})",
            )
