"""The ALB's origin guard: only our CloudFront distribution reaches the API origin, so nobody
skips the edge WAF and its rate limit.

Two locks. The ALB's security group admits 443 from CloudFront's origin-facing prefix list
only, and a regional web ACL on the ALB blocks (403) every request without the secret header
CloudFront adds (`X-Origin-Verify`, random, rotated by bumping `cdn.originSecretVersion`). The
prefix list alone would still let anyone's CloudFront distribution in; the header makes it ours.
The secret lives in the web ACL, not in the Ingress, whose annotations anyone who reads
Ingresses can see.

The header rotates on a cadence, in two phases, with no hand edit and no refused request: the
value of rotation period k is an HMAC of k under a root key (a generated value, the one
credential the stack must hand to AWS as a value: CloudFront sends it in plain). CloudFront sends
period k's value; the web ACL accepts period k's and period k-1's. The first `up` of period k+1
makes the web ACL accept k and k+1 (seconds) while CloudFront's edges move from k to k+1
(minutes): every edge still sending k is let in. An `up` at least once per period keeps it so;
after a longer gap, edges on the value of two or more periods ago are refused until CloudFront
finishes deploying. Bumping `cdn.originSecretVersion` draws a new root key: an emergency re-key,
one-phase by nature.

Builders, like `firewall.request_logs`: they register under the caller (AppIngress, which puts
the ALB together), so the resources keep the URNs they were deployed with.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import date

import pulumi
import pulumi_aws as aws

from components.aws.kms import KeyAccess
from components.aws.security_group import tcp_rule
from components.edge.cdn_policies import ORIGIN_HEADER
from components.edge.firewall import request_logs

#: The managed prefix list of CloudFront's origin-facing addresses (one list counts as ~55 rules
#: against a security group's quota of 60 inbound rules).
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def cloudfront_only_group(
    name: str, vpc_id: pulumi.Input[str], vpc_cidr: pulumi.Input[str], parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The ALB's group: 443 from CloudFront's origin-facing addresses, out to the VPC only."""
    child = pulumi.ResourceOptions(parent=parent)
    cloudfront = aws.ec2.get_managed_prefix_list_output(
        name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    group = aws.ec2.SecurityGroup(
        f"{name}-alb",
        vpc_id=vpc_id,
        description="ALB: HTTPS from CloudFront origin-facing addresses only",
        opts=child,
    )
    tcp_rule(
        f"{name}-alb-from-cloudfront",
        group.id,
        (443, 443),
        "CloudFront origin-facing",
        parent,
        prefix_list_id=cloudfront.id,
    )
    tcp_rule(
        f"{name}-alb-to-vpc",
        group.id,
        (1024, 65535),
        "ALB to the pods (target type ip)",
        parent,
        egress=True,
        cidr_ipv4=vpc_cidr,
    )
    return group


#: Before the rotation existed, CloudFront sent the root key itself. The ALB keeps accepting it
#: until this date, so the first `up` with the rotation refuses no edge still sending it; a stack
#: that first deploys the rotation later sees 403s from those edges for the minutes CloudFront
#: takes to deploy, once.
ROOT_KEY_ACCEPTED_UNTIL = date(2027, 3, 1)


def rotation_period(today: date, cadence_days: int) -> int:
    """Which rotation period `today` is in: periods of `cadence_days` days since 0001-01-01."""
    if cadence_days < 1:
        raise ValueError(f"a rotation cadence is at least one day, got {cadence_days}")
    return today.toordinal() // cadence_days


def period_header(root_key: str, period: int) -> str:
    """The origin header of one rotation period: derived, so the previous one needs no state."""
    return hmac.new(root_key.encode(), f"origin-header:{period}".encode(), hashlib.sha256).hexdigest()


def origin_guard(
    name: str,
    accepted: Sequence[pulumi.Output[str]],
    retention_days: int,
    parent: pulumi.Resource,
    key_access: KeyAccess,
    protect: bool,
) -> aws.wafv2.WebAcl:
    """A regional web ACL for the ALB, with its request logs: allow what carries one of the
    `accepted` header values (this period's and the previous one's), block (403) the rest."""
    waf = aws.wafv2
    visibility = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": False}
    acl = waf.WebAcl(
        f"{name}-origin-guard",
        scope="REGIONAL",
        description="Only requests through our CloudFront distribution",
        default_action=waf.WebAclDefaultActionArgs(block=waf.WebAclDefaultActionBlockArgs()),
        rules=[
            waf.WebAclRuleArgs(
                name="from-cloudfront",
                priority=0,
                action=waf.WebAclRuleActionArgs(allow=waf.WebAclRuleActionAllowArgs()),
                statement=waf.WebAclRuleStatementArgs(
                    or_statement=waf.WebAclRuleStatementOrStatementArgs(
                        statements=[_header_is(value) for value in accepted]
                    )
                ),
                visibility_config=waf.WebAclRuleVisibilityConfigArgs(
                    metric_name=f"{name}-from-cloudfront"[:128], **visibility
                ),
            )
        ],
        visibility_config=waf.WebAclVisibilityConfigArgs(metric_name=f"{name}-origin-guard"[:128], **visibility),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    request_logs(f"{name}-origin-guard", acl, retention_days, parent, key_access, protect)
    return acl


def _header_is(value: pulumi.Input[str]) -> aws.wafv2.WebAclRuleStatementArgs:
    waf = aws.wafv2
    return waf.WebAclRuleStatementArgs(
        byte_match_statement=waf.WebAclRuleStatementByteMatchStatementArgs(
            search_string=value,
            positional_constraint="EXACTLY",
            field_to_match=waf.WebAclRuleStatementByteMatchStatementFieldToMatchArgs(
                single_header=waf.WebAclRuleStatementByteMatchStatementFieldToMatchSingleHeaderArgs(
                    name=ORIGIN_HEADER.lower()
                )
            ),
            text_transformations=[
                waf.WebAclRuleStatementByteMatchStatementTextTransformationArgs(priority=0, type="NONE")
            ],
        )
    )
