"""A DNS-validated ACM certificate (Route 53), for CloudFront or a regional ALB.

CloudFront only accepts certificates from us-east-1, whatever region the rest of the stack is
in: its owner sets `required_region`, passes a provider for that region in `opts` and states the
provider's region in the args, so the mistake is caught here rather than by CloudFront.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

EDGE_REGION = "us-east-1"


@dataclass(frozen=True)
class CertificateArgs:
    #: Names on the certificate, and the public zone that validates them by DNS.
    domain: str
    #: More names on the certificate.
    alternative_names: Sequence[str]
    #: The public zone that validates them by DNS.
    hosted_zone_id: str
    #: Region of the provider passed in opts.
    provider_region: str
    #: Region the consumer requires (us-east-1 for CloudFront); None accepts any.
    required_region: str | None = None
    #: Provider for the Route 53 validation records (global service; any region works).
    dns_provider: aws.Provider | None = None


class DnsValidatedCertificate(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:certificate:DnsValidatedCertificate"

    def __init__(self, name: str, args: CertificateArgs, opts: pulumi.ResourceOptions | None = None):
        if args.required_region and args.provider_region != args.required_region:
            raise ValueError(
                f"{name}: CloudFront only accepts ACM certificates from {args.required_region}; "
                f"got a provider for {args.provider_region}. Pass a {args.required_region} provider."
            )
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        certificate = aws.acm.Certificate(
            name,
            domain_name=args.domain,
            subject_alternative_names=list(args.alternative_names),
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            opts=pulumi.ResourceOptions(parent=self),
        )
        by_domain = certificate.domain_validation_options.apply(lambda opts: {o.domain_name: o for o in opts})
        dns_opts = pulumi.ResourceOptions(parent=self, provider=args.dns_provider)
        records = []
        for index, domain in enumerate([args.domain, *args.alternative_names]):
            option = by_domain.apply(lambda options, d=domain: options[d])
            records.append(
                aws.route53.Record(
                    f"{name}-validation-{index}",
                    zone_id=args.hosted_zone_id,
                    name=option.resource_record_name,
                    type=option.resource_record_type,
                    records=[option.resource_record_value],
                    ttl=300,
                    allow_overwrite=True,
                    opts=dns_opts,
                )
            )
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[r.fqdn for r in records],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Consumers wait for validation: CloudFront refuses a certificate that is not yet issued.
        self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificateArn": self.certificate_arn})
