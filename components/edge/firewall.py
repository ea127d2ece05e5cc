"""WAFv2 web ACL for CloudFront (CLOUDFRONT scope, hence a us-east-1 provider in opts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.kms import KeyAccess, component_key

waf = aws.wafv2
#: Request headers that carry credentials (WAF matches header names in lower case).
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass(frozen=True)
class EdgeFirewallArgs:
    #: Requests per IP per `rate_window_seconds` before the IP is blocked.
    rate_limit: int
    #: Days the request logs are kept (FSBP WAF.11); Authorization and Cookie are redacted.
    log_retention_days: int
    #: Managed rule groups, each a rule after the rate limit, in this order of priority.
    managed_rule_groups: Sequence[str]
    #: Who administers the logs' key (the deploy role), in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the request logs (prod's audit trail).
    protect: bool
    #: Rules of a managed group switched to count. Odoo posts large JSON-RPC bodies and file
    #: uploads that CommonRuleSet's SizeRestrictions_BODY (8 KB) would block.
    count_only_rules: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Window the rate limit counts requests over, seconds.
    rate_window_seconds: int = 300
    #: Addresses (CIDR) the rate limit skips: the load test's generators, while it is enabled.
    #: Every other rule still applies to them.
    rate_limit_exempt: Sequence[pulumi.Input[str]] = ()


class EdgeFirewall(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:edge_firewall:EdgeFirewall"

    def __init__(self, name: str, args: EdgeFirewallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        rules = [self._rate_limit(name, args)]
        for priority, group in enumerate(args.managed_rule_groups, start=1):
            rules.append(
                waf.WebAclRuleArgs(
                    name=group,
                    priority=priority,
                    override_action=waf.WebAclRuleOverrideActionArgs(none=waf.WebAclRuleOverrideActionNoneArgs()),
                    statement=waf.WebAclRuleStatementArgs(
                        managed_rule_group_statement=waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            name=group,
                            vendor_name="AWS",
                            rule_action_overrides=[
                                waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                    name=rule,
                                    action_to_use=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                        count=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                                    ),
                                )
                                for rule in args.count_only_rules.get(group, ())
                            ]
                            or None,
                        )
                    ),
                    visibility_config=_visibility(f"{name}-{group}", waf.WebAclRuleVisibilityConfigArgs),
                )
            )
        acl = waf.WebAcl(
            name,
            scope="CLOUDFRONT",
            description="Edge protection for the Smart Dairy CDN",
            default_action=waf.WebAclDefaultActionArgs(allow=waf.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=_visibility(name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        request_logs(name, acl, args.log_retention_days, self, args.key_access, args.protect)
        self.arn = acl.arn
        self.register_outputs({"arn": self.arn})

    def _rate_limit(self, name: str, args: EdgeFirewallArgs) -> aws.wafv2.WebAclRuleArgs:
        """Blocks an IP over the limit; exempt addresses are scoped out through an IP set."""
        scope_down = None
        if args.rate_limit_exempt:
            exempt = waf.IpSet(
                f"{name}-rate-exempt",
                scope="CLOUDFRONT",
                ip_address_version="IPV4",
                addresses=list(args.rate_limit_exempt),
                description="Load-test generators: not rate limited while the load test is enabled",
                opts=pulumi.ResourceOptions(parent=self),
            )
            scope_down = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs(
                not_statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementNotStatementArgs(
                    statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs(
                        ip_set_reference_statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementIpSetReferenceStatementArgs(
                            arn=exempt.arn
                        )
                    )
                )
            )
        return waf.WebAclRuleArgs(
            name="rate-limit-per-ip",
            priority=0,
            action=waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs()),
            statement=waf.WebAclRuleStatementArgs(
                rate_based_statement=waf.WebAclRuleStatementRateBasedStatementArgs(
                    limit=args.rate_limit,
                    aggregate_key_type="IP",
                    evaluation_window_sec=args.rate_window_seconds,
                    scope_down_statement=scope_down,
                )
            ),
            visibility_config=_visibility(f"{name}-rate-limit", waf.WebAclRuleVisibilityConfigArgs),
        )


def _visibility(metric: str, args_type: type = waf.WebAclVisibilityConfigArgs):
    return args_type(cloudwatch_metrics_enabled=True, metric_name=metric[:128], sampled_requests_enabled=True)


def request_logs(
    name: str,
    acl: aws.wafv2.WebAcl,
    retention_days: int,
    parent: pulumi.Resource,
    key_access: KeyAccess,
    protect: bool,
) -> None:
    """A web ACL's request logs in CloudWatch Logs (FSBP WAF.11), encrypted with a key of their
    own and, in prod, protected (an audit trail). WAF delivers only to groups named
    aws-waf-logs-*, in the web ACL's region (the parent's provider)."""
    child = pulumi.ResourceOptions(parent=parent)
    group_name = f"aws-waf-logs-{name}"
    key = component_key(f"{name}-logs-key", "CloudWatch Logs encryption", parent, protect, key_access, [group_name])
    logs = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=group_name,
        retention_in_days=retention_days,
        kms_key_id=key.arn,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    waf.WebAclLoggingConfiguration(
        f"{name}-logging",
        resource_arn=acl.arn,
        log_destination_configs=[logs.arn],
        # Credentials and session cookies never reach the logs.
        redacted_fields=[
            waf.WebAclLoggingConfigurationRedactedFieldArgs(
                single_header=waf.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header)
            )
            for header in REDACTED_HEADERS
        ],
        opts=child,
    )
