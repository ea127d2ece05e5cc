"""The ALB in front of the applications (AWS Load Balancer Controller, target type ip), and the
origin name CloudFront uses to reach it.

Only CloudFront may reach it: the origin guard (`edge/origin_guard.py`) gives the ALB its
security group and a regional web ACL that requires CloudFront's secret header.

CloudFront checks the origin's certificate against the origin's domain name; the ALB's own
hostname (*.elb.amazonaws.com) cannot carry our certificate, so the ALB serves
`origin.<domain>` with a regional ACM certificate and CloudFront's API origin is that name, a
CNAME to the ALB hostname the controller publishes in the Ingress status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.aws.kms import KeyAccess
from components.aws.private_bucket import ALB_LOG_PREFIX, PrivateBucket, PrivateBucketArgs
from components.edge.certificate import CertificateArgs, DnsValidatedCertificate
from components.edge.origin_guard import cloudfront_only_group, origin_guard, period_header
from components.outputs import secret_output


@dataclass(frozen=True)
class Route:
    path: str
    service: str
    port: int


@dataclass(frozen=True)
class AppIngressArgs:
    #: Namespace of the Ingress (the Services it routes to live there).
    namespace: pulumi.Input[str]
    #: IngressClass of the load balancer controller.
    ingress_class: str
    #: Name CloudFront reaches the ALB by; the ALB's certificate carries it.
    origin_domain: str
    #: Public zone of origin_domain (certificate validation and the CNAME).
    hosted_zone_id: str
    #: Region of the regional certificate (the ALB's).
    region: str
    #: The ALB's name (at most 32 characters): alarms and dashboards find its metrics by it.
    load_balancer_name: str
    #: The VPC (the ALB's security group) and its range (the ALB reaches pods there).
    vpc_id: pulumi.Input[str]
    #: The VPC's range: the ALB reaches the pods there.
    vpc_cidr: pulumi.Input[str]
    #: Bump to draw a new root key for the origin header (an emergency re-key).
    origin_secret_version: str
    #: The origin header's rotation period now (edge/origin_guard.rotation_period).
    origin_secret_period: int
    #: Also accept the root key itself, the header CloudFront sent before the rotation
    #: (until edge/origin_guard.ROOT_KEY_ACCEPTED_UNTIL).
    accept_root_key: bool
    #: Days the origin guard's request logs are kept.
    waf_log_retention_days: int
    #: Who administers the origin guard's log key (the deploy role), in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the origin guard's request logs (prod's audit trail).
    protect: bool
    #: Days the ALB's access logs are kept (the stack's access-log retention).
    access_log_retention_days: int
    #: Path prefixes to Services, most specific first.
    routes: Sequence[Route]
    #: The load balancer controller's release and IngressClass (LoadBalancerController.ready).
    controller: Sequence[pulumi.Resource]
    #: ALB idle timeout; websockets outlive the 60 s default.
    idle_timeout_seconds: int = 120


class AppIngress(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:app_ingress:AppIngress"

    def __init__(self, name: str, args: AppIngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        certificate = DnsValidatedCertificate(
            f"{name}-cert",
            CertificateArgs(
                domain=args.origin_domain,
                alternative_names=[],
                hosted_zone_id=args.hosted_zone_id,
                provider_region=args.region,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        group = cloudfront_only_group(name, args.vpc_id, args.vpc_cidr, self)
        access_logs = PrivateBucket(
            f"{name}-alb-logs",
            PrivateBucketArgs(
                expiration_days=args.access_log_retention_days,
                noncurrent_version_expiration_days=1,
                load_balancer_logs=True,
                protect=args.protect,
                empty_on_destroy=not args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The root key of the origin header's rotation (edge/origin_guard.py): drawn anew only
        # when cdn.originSecretVersion is bumped.
        root_key = random.RandomPassword(
            f"{name}-origin-secret",
            length=48,
            special=False,
            keepers={"version": args.origin_secret_version},
            opts=pulumi.ResourceOptions(parent=self),
        )
        current, previous = (
            secret_output(root_key.result.apply(lambda key, p=period: period_header(key, p)))
            for period in (args.origin_secret_period, args.origin_secret_period - 1)
        )
        accepted = [current, previous] + ([secret_output(root_key.result)] if args.accept_root_key else [])
        guard = origin_guard(name, accepted, args.waf_log_retention_days, self, args.key_access, args.protect)
        ingress = k8s.networking.v1.Ingress(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="smartdairy",
                namespace=args.namespace,
                annotations=_alb_annotations(
                    args, group.id, guard.arn, certificate.certificate_arn, access_logs.bucket
                ),
            ),
            spec=_ingress_spec(args),
            # After the log bucket's policy too: the controller sets the access-log attributes,
            # which ELB checks against the bucket's policy at once.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.controller, access_logs]),
        )
        self.alb_hostname = ingress.status.load_balancer.ingress[0].hostname
        record = aws.route53.Record(
            f"{name}-origin",
            zone_id=args.hosted_zone_id,
            name=args.origin_domain,
            type="CNAME",
            ttl=60,
            records=[self.alb_hostname],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.origin_domain = record.fqdn
        # The controller creates the ALB; once the Ingress reports its hostname, look it up for
        # the ARN suffix (app/<name>/<id>) that CloudWatch dimensions its metrics by.
        balancer = aws.lb.get_load_balancer_output(
            name=self.alb_hostname.apply(lambda _: args.load_balancer_name),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.load_balancer_arn_suffix = balancer.arn_suffix
        #: What CloudFront sends: this period's header.
        self.origin_secret = current
        self.register_outputs(
            {
                "originDomain": self.origin_domain,
                "albHostname": self.alb_hostname,
                "loadBalancerArnSuffix": self.load_balancer_arn_suffix,
            }
        )


def _alb_annotations(
    args: AppIngressArgs,
    security_group_id: pulumi.Input[str],
    web_acl_arn: pulumi.Input[str],
    certificate_arn: pulumi.Input[str],
    log_bucket: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """What the load balancer controller builds the ALB from: TLS 1.3 on 443 with our
    certificate, the origin guard's group and web ACL, ip targets, websocket-friendly idle time,
    access logs to our bucket, and deletion protection where stateful resources are protected."""
    return {
        "alb.ingress.kubernetes.io/load-balancer-name": args.load_balancer_name,
        "alb.ingress.kubernetes.io/security-groups": security_group_id,
        "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "true",
        "alb.ingress.kubernetes.io/wafv2-acl-arn": web_acl_arn,
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/certificate-arn": certificate_arn,
        "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "10",
        "alb.ingress.kubernetes.io/healthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/unhealthy-threshold-count": "3",
        "alb.ingress.kubernetes.io/load-balancer-attributes": pulumi.Output.from_input(log_bucket).apply(
            lambda bucket: ",".join(
                [
                    f"idle_timeout.timeout_seconds={args.idle_timeout_seconds}",
                    "routing.http.drop_invalid_header_fields.enabled=true",
                    "routing.http2.enabled=true",
                    f"deletion_protection.enabled={str(args.protect).lower()}",
                    "access_logs.s3.enabled=true",
                    f"access_logs.s3.bucket={bucket}",
                    f"access_logs.s3.prefix={ALB_LOG_PREFIX}",
                ]
            )
        ),
    }


def _ingress_spec(args: AppIngressArgs) -> dict:
    """One rule for the origin name: each route a path prefix to its Service."""
    return {
        "ingressClassName": args.ingress_class,
        "rules": [
            {
                "host": args.origin_domain,
                "http": {
                    "paths": [
                        {
                            "path": route.path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": route.service, "port": {"number": route.port}}},
                        }
                        for route in args.routes
                    ]
                },
            }
        ],
    }
