"""OpenSearch rules: the FSBP OpenSearch controls that apply to a VPC domain with fine-grained
access control. Size rules (data nodes, dedicated masters) are per stack: prod demands them."""

from __future__ import annotations

from registry import RECOMMENDATION, as_list, resource_rule

DOMAIN = "aws:opensearch/domain:Domain"
#: TLS policies that refuse TLS 1.0 and 1.1.
TLS_1_2_POLICIES = {"Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"}


def _missing_log(props, log_type: str):
    published = {o.get("logType") for o in as_list(props.get("logPublishingOptions")) if o.get("enabled", True)}
    if log_type not in published:
        yield f"publish {log_type} to a log group"


@resource_rule(
    "opensearch-encrypted-at-rest", [DOMAIN], "OpenSearch domains encrypt data at rest.", control="Opensearch.1"
)
def encrypted(props, config):
    if not (props.get("encryptAtRest") or {}).get("enabled"):
        yield "encryptAtRest.enabled must be true"


@resource_rule(
    "opensearch-in-vpc", [DOMAIN], "OpenSearch domains live in a VPC, never public.", control="Opensearch.2",
    severity="critical",
)  # fmt: skip
def in_vpc(props, config):
    if not as_list((props.get("vpcOptions") or {}).get("subnetIds")):
        yield "vpcOptions.subnetIds must place the domain in the isolated subnets"


@resource_rule(
    "opensearch-node-to-node-encryption",
    [DOMAIN],
    "OpenSearch domains encrypt traffic between nodes.",
    control="Opensearch.3",
)
def node_to_node(props, config):
    if not (props.get("nodeToNodeEncryption") or {}).get("enabled"):
        yield "nodeToNodeEncryption.enabled must be true"


@resource_rule(
    "opensearch-error-logging",
    [DOMAIN],
    "OpenSearch domains publish error logs to CloudWatch Logs.",
    control="Opensearch.4",
    severity="medium",
)
def error_logging(props, config):
    yield from _missing_log(props, "ES_APPLICATION_LOGS")


@resource_rule(
    "opensearch-audit-logging",
    [DOMAIN],
    "OpenSearch domains publish audit logs to CloudWatch Logs.",
    control="Opensearch.5",
    severity="medium",
)
def audit_logging(props, config):
    yield from _missing_log(props, "AUDIT_LOGS")


@resource_rule(
    "opensearch-three-data-nodes",
    [DOMAIN],
    "OpenSearch domains have at least three data nodes across zones where the stack demands it (config: required).",
    control="Opensearch.6",
    kind=RECOMMENDATION,
    per_stack=True,
)
def three_data_nodes(props, config):
    cluster = props.get("clusterConfig") or {}
    if (cluster.get("instanceCount") or 1) < 3 or not cluster.get("zoneAwarenessEnabled"):
        yield "clusterConfig needs instanceCount >= 3 and zoneAwarenessEnabled in this stack"


@resource_rule(
    "opensearch-fine-grained-access",
    [DOMAIN],
    "OpenSearch domains use fine-grained access control, without anonymous access.",
    control="Opensearch.7",
    severity="high",
)
def fine_grained_access(props, config):
    security = props.get("advancedSecurityOptions") or {}
    if not security.get("enabled"):
        yield "advancedSecurityOptions.enabled must be true"
    if security.get("anonymousAuthEnabled"):
        yield "advancedSecurityOptions.anonymousAuthEnabled must be false"


@resource_rule(
    "opensearch-https-tls-1-2",
    [DOMAIN],
    "OpenSearch domains require HTTPS with a TLS 1.2+ security policy.",
    control="Opensearch.8",
)
def https_tls(props, config):
    endpoint = props.get("domainEndpointOptions") or {}
    if not endpoint.get("enforceHttps"):
        yield "domainEndpointOptions.enforceHttps must be true"
    if endpoint.get("tlsSecurityPolicy") not in TLS_1_2_POLICIES:
        yield f"domainEndpointOptions.tlsSecurityPolicy must be one of {', '.join(sorted(TLS_1_2_POLICIES))}"


@resource_rule(
    "opensearch-dedicated-masters",
    [DOMAIN],
    "OpenSearch domains have three or more dedicated cluster managers where the stack demands it (config: required).",
    control="Opensearch.11",
    kind=RECOMMENDATION,
    per_stack=True,
)
def dedicated_masters(props, config):
    cluster = props.get("clusterConfig") or {}
    if not cluster.get("dedicatedMasterEnabled") or (cluster.get("dedicatedMasterCount") or 0) < 3:
        yield "clusterConfig needs dedicatedMasterEnabled with dedicatedMasterCount 3 or 5 in this stack"
