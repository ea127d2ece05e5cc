"""OpenSearch rules: the FSBP OpenSearch controls that apply to a VPC domain with fine-grained
access control. Size rules (data nodes, dedicated masters) are per stack: prod demands them."""

from __future__ import annotations

from registry import RECOMMENDATION, as_list, required_flag, resource_rule

DOMAIN = "aws:opensearch/domain:Domain"
#: TLS policies that refuse TLS 1.0 and 1.1.
TLS_1_2_POLICIES = {"Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"}


def _log_rule(name: str, log_type: str, what: str, control: str) -> None:
    def check(props, config):
        published = {o.get("logType") for o in as_list(props.get("logPublishingOptions")) if o.get("enabled", True)}
        if log_type not in published:
            yield f"publish {log_type} to a log group"

    check.__doc__ = f"OpenSearch domains publish {what} logs to CloudWatch Logs."
    resource_rule(name, [DOMAIN], control=control, severity="medium")(check)


required_flag(
    "opensearch-encrypted-at-rest",
    [DOMAIN],
    "OpenSearch domains encrypt data at rest.",
    "encryptAtRest.enabled",
    control="Opensearch.1",
)


@resource_rule("opensearch-in-vpc", [DOMAIN], control="Opensearch.2", severity="critical")
def in_vpc(props, config):
    """OpenSearch domains live in a VPC, never public."""
    if not as_list((props.get("vpcOptions") or {}).get("subnetIds")):
        yield "vpcOptions.subnetIds must place the domain in the isolated subnets"


required_flag(
    "opensearch-node-to-node-encryption",
    [DOMAIN],
    "OpenSearch domains encrypt traffic between nodes.",
    "nodeToNodeEncryption.enabled",
    control="Opensearch.3",
)
_log_rule("opensearch-error-logging", "ES_APPLICATION_LOGS", "error", "Opensearch.4")
_log_rule("opensearch-audit-logging", "AUDIT_LOGS", "audit", "Opensearch.5")


@resource_rule("opensearch-three-data-nodes", [DOMAIN], control="Opensearch.6", kind=RECOMMENDATION, per_stack=True)
def three_data_nodes(props, config):
    """OpenSearch domains have at least three data nodes across zones where the stack demands it
    (config: required)."""
    cluster = props.get("clusterConfig") or {}
    if (cluster.get("instanceCount") or 1) < 3 or not cluster.get("zoneAwarenessEnabled"):
        yield "clusterConfig needs instanceCount >= 3 and zoneAwarenessEnabled in this stack"


@resource_rule("opensearch-fine-grained-access", [DOMAIN], control="Opensearch.7", severity="high")
def fine_grained_access(props, config):
    """OpenSearch domains use fine-grained access control, without anonymous access."""
    security = props.get("advancedSecurityOptions") or {}
    if not security.get("enabled"):
        yield "advancedSecurityOptions.enabled must be true"
    if security.get("anonymousAuthEnabled"):
        yield "advancedSecurityOptions.anonymousAuthEnabled must be false"


@resource_rule("opensearch-https-tls-1-2", [DOMAIN], control="Opensearch.8")
def https_tls(props, config):
    """OpenSearch domains require HTTPS with a TLS 1.2+ security policy."""
    endpoint = props.get("domainEndpointOptions") or {}
    if not endpoint.get("enforceHttps"):
        yield "domainEndpointOptions.enforceHttps must be true"
    if endpoint.get("tlsSecurityPolicy") not in TLS_1_2_POLICIES:
        yield f"domainEndpointOptions.tlsSecurityPolicy must be one of {', '.join(sorted(TLS_1_2_POLICIES))}"


@resource_rule("opensearch-dedicated-masters", [DOMAIN], control="Opensearch.11", kind=RECOMMENDATION, per_stack=True)
def dedicated_masters(props, config):
    """OpenSearch domains have three or more dedicated cluster managers where the stack demands it
    (config: required)."""
    cluster = props.get("clusterConfig") or {}
    if not cluster.get("dedicatedMasterEnabled") or (cluster.get("dedicatedMasterCount") or 0) < 3:
        yield "clusterConfig needs dedicatedMasterEnabled with dedicatedMasterCount 3 or 5 in this stack"


@resource_rule("opensearch-iam-master", [DOMAIN], severity="high")
def iam_master(props, config):
    """OpenSearch's master user is an IAM role, not an internal user whose password lives in
    the stack's state."""
    security = props.get("advancedSecurityOptions") or {}
    if security.get("internalUserDatabaseEnabled") or (security.get("masterUserOptions") or {}).get("masterUserName"):
        yield "use masterUserOptions.masterUserArn (an IAM role) and no internal master user"
