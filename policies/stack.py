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
    "aws:opensearch/domain:Domain",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:efs/fileSystem:FileSystem",
    "aws:eks/cluster:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
)
#: Equal to components/apps/pgbouncer_config.py's (the pack cannot import the program;
#: tests/test_policies.py pins them equal).
BUDGET_SHARE = 0.85
RDS_INSTANCE = "aws:rds/instance:Instance"


def _tags(value) -> dict:
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("{") else {}
    value = value or {}
    return dict(value.get("tags", value)) if isinstance(value, dict) else {}


def _tagged(resources):
    """(resource, tags) for every taggable AWS resource: its provider's default_tags under its own."""
    for resource in resources:
        if not resource.resource_type.startswith("aws:") or UNTAGGABLE.match(resource.resource_type):
            continue
        provider_tags = _tags((resource.provider.props or {}).get("defaultTags")) if resource.provider else {}
        yield resource, {**provider_tags, **_tags(resource.props.get("tags"))}


@stack_rule("required-tags", severity="medium")
def required_tags(resources, config):
    """Every taggable AWS resource carries Project, Environment, Owner, CostCenter and ManagedBy,
    through its provider's default_tags or its own tags."""
    required = as_list(config.get("tags")) or list(REQUIRED_TAGS)
    for resource, tags in _tagged(resources):
        missing = [t for t in required if t not in tags]
        if missing:
            yield resource.urn, f"missing tags {', '.join(missing)}"


@stack_rule("stateful-resources-protected", kind=RECOMMENDATION, per_stack=True)
def stateful_protected(resources, config):
    """Databases, caches, buckets, keys, secrets, file systems and the cluster are protected from
    deletion where the stack demands it (config: required)."""
    for resource in of_type(resources, *STATEFUL):
        if not resource.opts.protect:
            yield resource.urn, "stateful resource without protect"


def _ini(text: str) -> dict[str, str]:
    pairs = (line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith(";"))
    return {k.strip(): v.strip() for k, v in pairs}


@stack_rule("pgbouncer-connection-budget")
def pgbouncer_budget(resources, config):
    """All PgBouncer pods of all pools together fit in 85 % of RDS max_connections on every target
    database."""
    max_connections = None
    for group in of_type(resources, "aws:rds/parameterGroup:ParameterGroup"):
        for parameter in as_list(group.props.get("parameters")):
            if parameter.get("name") == "max_connections":
                max_connections = int(parameter.get("value"))
    if max_connections is None:
        return
    on_primary, on_each_replica, anchor = 0, 0, None
    # By relation, not by name: a Deployment's spec depends on the ConfigMap holding its
    # pgbouncer.ini, and that ini's data on the RDS instances it points at.
    for deployment in of_type(resources, "kubernetes:apps/v1:Deployment"):
        pods = int((deployment.props.get("spec") or {}).get("replicas", 1))
        for config_map in deployment.property_dependencies.get("spec", []):
            text = (config_map.props.get("data") or {}).get("pgbouncer.ini") if config_map.props else None
            if config_map.resource_type != "kubernetes:core/v1:ConfigMap" or not text:
                continue
            anchor = anchor or config_map.urn
            settings = _ini(text)
            per_pod = int(settings.get("max_db_connections") or 0) or (
                int(settings.get("default_pool_size", 20)) + int(settings.get("reserve_pool_size", 0))
            )
            targets = [r for r in config_map.property_dependencies.get("data", []) if r.resource_type == RDS_INSTANCE]
            if targets and all(t.props.get("replicateSourceDb") for t in targets):
                on_each_replica += pods * per_pod
            else:
                on_primary += pods * per_pod
    limit = int(max_connections * BUDGET_SHARE)
    for target, used in (("primary", on_primary), ("each replica", on_each_replica)):
        if used > limit:
            yield (
                anchor,
                f"PgBouncer can open {used} server connections on the {target}, "
                f"over {limit} (85 % of {max_connections})",
            )


@stack_rule("policy-set-matches-environment")
def policy_set_matches_environment(resources, config):
    """The policy set was built for this stack's environment: its AWS resources carry the
    Environment tag the set names (a staging set cannot pass a prod stack)."""
    expected = config.get("environment")
    if not expected:  # no set given: the pack's own defaults, the strictest levels, apply
        return
    for resource, tags in _tagged(resources):
        found = tags.get("Environment")
        if found is not None and found != expected:
            yield (
                resource.urn,
                (
                    f"tagged Environment={found}, but the policy set was built for {expected}: pass the "
                    f"build/<stack>/policy-config.json that `make capacity` writes for this stack"
                ),
            )
            return
