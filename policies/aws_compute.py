"""EKS, EC2 networking and IAM rules."""

from __future__ import annotations

from registry import as_list, json_document, resource_rule

#: EKS versions in standard support; config: supportedVersions overrides.
SUPPORTED_VERSIONS = ("1.34", "1.35", "1.36")
DATA_PORTS = (22, 2049, 3306, 3389, 5432, 6379, 6432, 9200, 11211, 27017)
WORLD = ("0.0.0.0/0", "::/0")
CLUSTER = "aws:eks/cluster:Cluster"
POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role")


@resource_rule("eks-endpoint-not-public", [CLUSTER], control="EKS.1", severity="critical")
def endpoint(props, config):
    """The EKS API endpoint is private, or public only to listed ranges."""
    vpc = props.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess", True):
        cidrs = as_list(vpc.get("publicAccessCidrs")) or ["0.0.0.0/0"]
        if set(cidrs) & set(WORLD):
            yield "the API endpoint is public to the whole internet; disable it or list admin CIDRs"


@resource_rule("eks-supported-version", [CLUSTER], control="EKS.2")
def supported_version(props, config):
    """EKS runs a Kubernetes version in standard support."""
    supported = as_list(config.get("supportedVersions")) or list(SUPPORTED_VERSIONS)
    if str(props.get("version")) not in supported:
        yield f"version {props.get('version')} is not in standard support ({', '.join(supported)})"


@resource_rule("eks-audit-logging", [CLUSTER], control="EKS.8")
def audit_logging(props, config):
    """EKS sends audit logs to CloudWatch."""
    if "audit" not in as_list(props.get("enabledClusterLogTypes")):
        yield "enabledClusterLogTypes must include audit"


@resource_rule("eks-secrets-encryption", [CLUSTER], control="EKS.3")
def secrets_encryption(props, config):
    """EKS envelope-encrypts Kubernetes secrets with KMS."""
    encryption = props.get("encryptionConfig") or {}
    if "secrets" not in as_list(encryption.get("resources")) or not (encryption.get("provider") or {}).get("keyArn"):
        yield "encryptionConfig must cover secrets with a KMS key"


def _open_to_world(rule) -> bool:
    return (
        rule.get("cidrIpv4") in WORLD
        or rule.get("cidrIpv6") in WORLD
        or bool(set(as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))) & set(WORLD))
    )


def _covers_data_port(rule) -> bool:
    if str(rule.get("ipProtocol", rule.get("protocol", "tcp"))) in ("-1", "all"):
        return True
    low, high = int(rule.get("fromPort") or 0), int(rule.get("toPort") or 65535)
    return any(low <= port <= high for port in DATA_PORTS)


@resource_rule(
    "security-group-no-open-data-ports",
    [
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
    ],
    control="EC2.18/EC2.19",
    severity="critical",
)
def open_data_ports(props, config):
    """Security groups never open data or admin ports to 0.0.0.0/0 or ::/0."""
    rules = as_list(props.get("ingress")) if "ingress" in props else [props]
    for rule in rules:
        if rule.get("type", "ingress") == "ingress" and _open_to_world(rule) and _covers_data_port(rule):
            yield f"ports {rule.get('fromPort')}-{rule.get('toPort')} are open to the internet"


@resource_rule("launch-template-imdsv2", ["aws:ec2/launchTemplate:LaunchTemplate"], control="EC2.170")
def imdsv2(props, config):
    """Launch templates require IMDSv2."""
    if (props.get("metadataOptions") or {}).get("httpTokens") != "required":
        yield "metadataOptions.httpTokens must be required"


@resource_rule("iam-no-admin-star", list(POLICY_TYPES), control="IAM.1", severity="critical")
def no_star_star(props, config):
    """No IAM policy allows * on *."""
    for key in ("policy", "assumeRolePolicy"):
        for statement in as_list(json_document(props.get(key)).get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            actions = as_list(statement.get("Action"))
            resources = as_list(statement.get("Resource"))
            if "*" in actions and "*" in resources:
                yield f"{key} statement {statement.get('Sid', '')} allows * on *".replace("  ", " ")
