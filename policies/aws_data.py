"""RDS, ElastiCache and KMS rules."""

from __future__ import annotations

from registry import RECOMMENDATION, as_list, json_document, required_flag, resource_rule, stack_rule

INSTANCE = "aws:rds/instance:Instance"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
KEY = "aws:kms/key:Key"
#: Condition keys that hold a service principal to our account or to the resources it serves.
SERVICE_SCOPES = ("aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext", "kms:ViaService")
DEFAULT_ADMIN_NAMES = {"postgres", "admin", "root", "master", "administrator"}


def _is_replica(props) -> bool:
    return bool(props.get("replicateSourceDb"))


required_flag("rds-encrypted", [INSTANCE], "RDS storage is encrypted.", "storageEncrypted", control="RDS.3")
required_flag(
    "rds-deletion-protection",
    [INSTANCE],
    "RDS instances have deletion protection where the stack demands it (config: required).",
    "deletionProtection",
    message="deletionProtection must be true in this stack",
    control="RDS.8",
    kind=RECOMMENDATION,
    per_stack=True,
)
required_flag(
    "rds-iam-authentication",
    [INSTANCE],
    "RDS IAM database authentication is on.",
    "iamDatabaseAuthenticationEnabled",
    control="RDS.10",
    severity="medium",
)
required_flag(
    "rds-copy-tags-to-snapshots",
    [INSTANCE],
    "RDS copies tags to snapshots.",
    "copyTagsToSnapshot",
    control="RDS.17",
    severity="low",
)


@resource_rule("rds-not-public", [INSTANCE], control="RDS.2", severity="critical")
def not_public(props, config):
    """RDS instances are not publicly accessible."""
    if props.get("publiclyAccessible"):
        yield "publiclyAccessible must be false"


@resource_rule("rds-multi-az", [INSTANCE], control="RDS.5", kind=RECOMMENDATION, per_stack=True)
def multi_az(props, config):
    """RDS primaries are Multi-AZ where the stack demands it (config: required)."""
    if not _is_replica(props) and not props.get("multiAz"):
        yield "multiAz must be true in this stack"


@resource_rule("rds-backups", [INSTANCE], control="RDS.11")
def backups(props, config):
    """RDS primaries keep automated backups (config: minDays, default 7)."""
    minimum = int(config.get("minDays", 7))
    if not _is_replica(props) and int(props.get("backupRetentionPeriod") or 0) < minimum:
        yield f"backupRetentionPeriod {props.get('backupRetentionPeriod')} is below {minimum} days"


@resource_rule("rds-enhanced-monitoring", [INSTANCE], control="RDS.6", severity="medium")
def enhanced_monitoring(props, config):
    """RDS Enhanced Monitoring is on."""
    if int(props.get("monitoringInterval") or 0) == 0 or not props.get("monitoringRoleArn"):
        yield "set monitoringInterval > 0 and a monitoringRoleArn"


@resource_rule("rds-postgres-logs-exported", [INSTANCE], control="RDS.36", severity="medium")
def logs_exported(props, config):
    # Replicas carry no engine input: they are PostgreSQL like their source.
    """PostgreSQL logs go to CloudWatch Logs."""
    postgres = str(props.get("engine", "postgres")).startswith("postgres")
    if postgres and "postgresql" not in as_list(props.get("enabledCloudwatchLogsExports")):
        yield "enabledCloudwatchLogsExports must include postgresql"


@resource_rule("rds-minor-version-upgrades", [INSTANCE], control="RDS.13", severity="medium")
def minor_upgrades(props, config):
    """RDS applies minor version upgrades automatically."""
    if props.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade must be true"


@resource_rule("rds-non-default-admin", [INSTANCE], control="RDS.25", severity="medium")
def admin_name(props, config):
    """RDS master user is not a default name."""
    if not _is_replica(props) and str(props.get("username", "")).lower() in DEFAULT_ADMIN_NAMES:
        yield f"master username {props.get('username')!r} is a default name"


@resource_rule("rds-keeps-pg-stat-statements", ["aws:rds/parameterGroup:ParameterGroup"])
def pg_stat_statements(props, config):
    """PostgreSQL parameter groups keep pg_stat_statements preloaded (setting the list replaces
    RDS's default)."""
    if not str(props.get("family", "")).startswith("postgres"):
        return
    for parameter in as_list(props.get("parameters")):
        if parameter.get("name") == "shared_preload_libraries":
            libraries = [lib.strip() for lib in str(parameter.get("value", "")).split(",")]
            if "pg_stat_statements" not in libraries:
                yield "shared_preload_libraries drops pg_stat_statements; the audit queries need it"


@resource_rule("elasticache-backups", [GROUP], control="ElastiCache.1")
def cache_backups(props, config):
    """ElastiCache keeps automatic backups."""
    if int(props.get("snapshotRetentionLimit") or 0) < 1:
        yield "snapshotRetentionLimit must be at least 1"


@resource_rule("elasticache-minor-version-upgrades", [GROUP], control="ElastiCache.2", severity="medium")
def cache_minor_upgrades(props, config):
    """ElastiCache applies minor upgrades automatically."""
    if props.get("autoMinorVersionUpgrade") in (False, "false"):
        yield "autoMinorVersionUpgrade must be true"


@resource_rule("elasticache-automatic-failover", [GROUP], control="ElastiCache.3")
def cache_failover(props, config):
    """ElastiCache replication groups fail over automatically."""
    if not props.get("automaticFailoverEnabled"):
        yield "automaticFailoverEnabled must be true (needs at least one replica)"


@resource_rule("elasticache-encrypted-at-rest", [GROUP], control="ElastiCache.4")
def cache_at_rest(props, config):
    """ElastiCache encrypts data at rest."""
    if props.get("atRestEncryptionEnabled") not in (True, "true"):
        yield "atRestEncryptionEnabled must be true"


@resource_rule("elasticache-encrypted-in-transit", [GROUP], control="ElastiCache.5")
def cache_in_transit(props, config):
    """ElastiCache requires TLS."""
    if not props.get("transitEncryptionEnabled"):
        yield "transitEncryptionEnabled must be true"
    elif props.get("transitEncryptionMode", "required") != "required":
        yield "transitEncryptionMode must be required"


@resource_rule("elasticache-auth", [GROUP], control="ElastiCache.6")
def cache_auth(props, config):
    """ElastiCache requires AUTH (token or RBAC user groups)."""
    if not props.get("authToken") and not as_list(props.get("userGroupIds")):
        yield "set authToken (or userGroupIds)"


@resource_rule("elasticache-custom-subnet-group", [GROUP], control="ElastiCache.7", severity="medium")
def cache_subnet_group(props, config):
    """ElastiCache does not use the default subnet group."""
    if props.get("subnetGroupName") in (None, "", "default"):
        yield "use a dedicated subnet group on the isolated tier"


@resource_rule("kms-key-rotation", [KEY], control="KMS.4", severity="medium")
def kms_rotation(props, config):
    """Customer-managed KMS keys rotate yearly."""
    if props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT" and not props.get(
        "enableKeyRotation"
    ):
        yield "enableKeyRotation must be true"


@resource_rule("kms-explicit-key-policy", [KEY], severity="high")
def kms_explicit_policy(props, config):
    """Every KMS key has an explicit key policy: no wildcard principal, `kms:*` for the account
    root only, and every service principal held to our account or to the resources it serves."""
    document = props.get("policy")
    if not document:
        yield "set an explicit key policy (the account root, the key's administrator, the services that use it)"
        return
    for index, stmt in enumerate(as_list(json_document(document).get("Statement"))):
        if stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        aws_principals = as_list(principal.get("AWS")) if isinstance(principal, dict) else [principal]
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if "*" in aws_principals:
            yield f"statement {index}: a wildcard principal"
        if "kms:*" in as_list(stmt.get("Action")) and any(not str(p).endswith(":root") for p in aws_principals):
            yield f"statement {index}: kms:* for a principal other than the account root"
        keys = {key for block in (stmt.get("Condition") or {}).values() for key in block}
        if services and not any(k.startswith(SERVICE_SCOPES) for k in keys):
            yield f"statement {index}: {', '.join(services)} unscoped (aws:SourceAccount, aws:SourceArn or context)"


@resource_rule("elasticache-rbac-without-auth-token", [GROUP], severity="high")
def rbac_without_token(props, config):
    """A replication group with RBAC users carries no AUTH token: the token is the default
    user's password, which every client of the group could then log in with."""
    if as_list(props.get("userGroupIds")) and props.get("authToken"):
        yield "remove authToken (authTokenUpdateStrategy DELETE) once userGroupIds are set"


#: Who may rotate a secret, and through which of its properties it names the secret: Secrets
#: Manager's rotation, or a Kubernetes CronJob whose spec carries the secret's ARN (a credential
#: only code inside the cluster can issue, such as Odoo's API keys).
ROTATORS = {
    "aws:secretsmanager/secretRotation:SecretRotation": "secretId",
    "kubernetes:batch/v1:CronJob": "spec",
}


@stack_rule("secrets-rotate", severity="high", control="SecretsManager.1")
def secrets_rotate(resources, config):
    """Every Secrets Manager secret rotates automatically: a SecretRotation names it, or a
    CronJob of the stack does."""
    rotated = {
        secret.urn
        for r in resources
        if r.resource_type in ROTATORS
        for secret in r.property_dependencies.get(ROTATORS[r.resource_type], [])
    }
    for secret in (r for r in resources if r.resource_type == "aws:secretsmanager/secret:Secret"):
        if secret.urn not in rotated:
            yield secret.urn, "no SecretRotation and no CronJob names it: the value changes only by hand"
