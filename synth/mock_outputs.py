"""What the mock engine answers: the provider-computed outputs and invoke results that the
program reads. Values are shaped like AWS's (ARNs, endpoints) so downstream string handling is
exercised; an invoke with no answer here fails loudly, so every new invoke is mocked on purpose.
"""

from __future__ import annotations

import base64
import json
import random
import re
import zlib
from typing import Any

ACCOUNT_ID = "123456789012"
#: terraform-provider-random's character sets (internal/random/string.go).
RANDOM_LOWER = "abcdefghijklmnopqrstuvwxyz"
RANDOM_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
RANDOM_NUMERIC = "0123456789"
RANDOM_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def computed_outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Provider-computed outputs. Kubernetes objects get theirs under the provider's own shapes."""
    if not type_.startswith("aws:"):
        specific = _SPECIFIC.get(type_)
        return specific(name, inputs, region) if specific else {}
    service = type_.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{name}"}
    if "name" not in inputs:
        out["name"] = name
    specific = _SPECIFIC.get(type_)
    if specific:
        out.update(specific(name, inputs, region))
    return out


def _bucket(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{name}-0123abcd"
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
    }


def _certificate(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    domains = [inputs["domainName"], *inputs.get("subjectAlternativeNames", [])]
    return {
        "arn": f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{name}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_0123.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_4567.{domain}.acm-validations.aws.",
            }
            for domain in domains
        ],
    }


def _rds_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    host = f"{name}.abcdefghij.{region}.rds.amazonaws.com"
    return {"identifier": f"{name}-0123", "address": host, "endpoint": f"{host}:5432", "port": 5432}


def _replication_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    base = f"{name}.abc123.{region}.cache.amazonaws.com"
    group = inputs.get("replicationGroupId", f"{name}-0123")
    # ElastiCache's member naming: <group>-NNN, or <group>-SSSS-NNN per shard in cluster mode.
    if "numNodeGroups" in inputs:
        nodes = int(inputs.get("replicasPerNodeGroup", 0)) + 1
        members = [
            f"{group}-{s:04d}-{n:03d}" for s in range(1, int(inputs["numNodeGroups"]) + 1) for n in range(1, nodes + 1)
        ]
    else:
        members = [f"{group}-{n:03d}" for n in range(1, int(inputs.get("numCacheClusters", 1)) + 1)]
    return {
        "memberClusters": members,
        "primaryEndpointAddress": f"master.{base}",
        "readerEndpointAddress": f"replica.{base}",
        "configurationEndpointAddress": f"clustercfg.{base}",
    }


def _eks_cluster(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    cluster = inputs.get("name", name)
    return {
        "endpoint": f"https://{cluster.upper()}0123.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/0123"}]}],
        "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-eks-{cluster}"},
        "arn": f"arn:aws:eks:{region}:{ACCOUNT_ID}:cluster/{cluster}",
    }


_SPECIFIC = {
    "kubernetes:networking.k8s.io/v1:Ingress": lambda name, inputs, region: {
        "status": {"loadBalancer": {"ingress": [{"hostname": f"k8s-{name}-0123456789.{region}.elb.amazonaws.com"}]}}
    },
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, inputs, region: {"latestVersion": 1},
    "aws:sqs/queue:Queue": lambda name, inputs, region: {
        "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}",
        "arn": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}",
    },
    # AWS puts the role's path in its ARN: arn:aws:iam::<account>:role/<path>/<name>.
    "aws:iam/role:Role": lambda name, inputs, region: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role{inputs.get('path') or '/'}{name}"
    },
    "aws:iam/policy:Policy": lambda name, inputs, region: {"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda name, inputs, region: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{inputs['url'].removeprefix('https://')}"
    },
    "random:index/randomPassword:RandomPassword": lambda name, inputs, region: {
        "result": random_password(name, inputs),
        "bcryptHash": "$2a$10$mock",
    },
    "random:index/randomId:RandomId": lambda name, inputs, region: {
        "hex": f"{zlib.crc32(name.encode()):08x}"[: 2 * int(inputs.get("byteLength", 4))],
    },
    "random:index/randomBytes:RandomBytes": lambda name, inputs, region: _random_bytes(name, inputs),
    "aws:lambda/function:Function": lambda name, inputs, region: {
        "arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        "qualifiedArn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}:1",
        "version": "1" if inputs.get("publish") else "$LATEST",
    },
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:opensearch/domain:Domain": lambda name, inputs, region: {
        "arn": f"arn:aws:es:{region}:{ACCOUNT_ID}:domain/{inputs['domainName']}",
        "domainId": f"{ACCOUNT_ID}/{inputs['domainName']}",
        "endpoint": f"vpc-{inputs['domainName']}-0123456789abcdefghij.{region}.es.amazonaws.com",
    },
    "aws:kms/key:Key": lambda name, inputs, region: {"keyId": f"{name}-key-id"},
    "aws:ec2/eip:Eip": lambda name, inputs, region: {"publicIp": "203.0.113.10", "allocationId": f"eipalloc-{name}"},
    "aws:ec2/vpc:Vpc": lambda name, inputs, region: {"defaultSecurityGroupId": f"sg-default-{name}"},
    "aws:s3/bucket:Bucket": _bucket,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": lambda name, inputs, region: {
        "certificateArn": inputs["certificateArn"]
    },
    "aws:route53/record:Record": lambda name, inputs, region: {"fqdn": str(inputs.get("name", name)).rstrip(".")},
    "aws:cloudfront/distribution:Distribution": lambda name, inputs, region: {
        "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E{zlib.crc32(name.encode()):012d}",
        "domainName": f"d{zlib.crc32(name.encode()):010d}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
    },
    "aws:wafv2/webAcl:WebAcl": lambda name, inputs, region: {
        "arn": f"arn:aws:wafv2:us-east-1:{ACCOUNT_ID}:global/webacl/{name}/0123"
    },
}


def random_password(name: str, inputs: dict[str, Any]) -> str:
    """A password from the alphabet the real provider would draw from, given the same inputs.

    Adversarial on purpose: where the length allows, every character of the alphabet's special
    set appears, so a consumer that forgets to quote one (`#` ends a URL's authority, `@` its
    userinfo) fails in every run instead of in 60 % of real deployments. Deterministic per name
    and keepers: new keepers replace the resource, so the provider draws a new value.
    """
    length = int(inputs.get("length", 16))
    sets = {
        "lower": RANDOM_LOWER,
        "upper": RANDOM_UPPER,
        "numeric": RANDOM_NUMERIC,
        "special": inputs.get("overrideSpecial") or RANDOM_SPECIAL,
    }
    enabled = {kind: chars for kind, chars in sets.items() if inputs.get(kind, True)}
    keepers = json.dumps(inputs.get("keepers") or {}, sort_keys=True)
    rng = random.Random(zlib.crc32(f"{name}{keepers if keepers != '{}' else ''}".encode()))
    drawn = [
        rng.choice(chars) for kind, chars in enabled.items() for _ in range(int(inputs.get(f"min{kind.title()}", 0)))
    ]
    drawn += list(enabled.get("special", ""))[: max(length - len(drawn), 0)]
    alphabet = "".join(enabled.values())
    drawn += [rng.choice(alphabet) for _ in range(length - len(drawn))]
    rng.shuffle(drawn)
    return "".join(drawn[:length])


def _random_bytes(name: str, inputs: dict[str, Any]) -> dict[str, str]:
    """`length` bytes, deterministic per name and keepers, in both encodings the provider gives."""
    keepers = json.dumps(inputs.get("keepers") or {}, sort_keys=True)
    raw = random.Random(zlib.crc32(f"{name}{keepers}".encode())).randbytes(int(inputs["length"]))
    return {"base64": base64.b64encode(raw).decode(), "hex": raw.hex()}


def _availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    letters = "abcdef"
    return {
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{region[:3]}{region.split('-')[-1]}-az{i + 1}" for i in range(len(letters))],
        "id": region,
    }


#: ELB's log-delivery accounts of the regions opened before August 2022 (AWS ELB User Guide,
#: "Enable access logs"); the ones the stacks and tests use.
ELB_LOG_ACCOUNTS = {"eu-west-1": "156460612806", "eu-central-1": "054676820928", "us-east-1": "127311923021"}

_INVOKES = {
    "aws:elb/getServiceAccount:getServiceAccount": lambda args, region: {
        "arn": f"arn:aws:iam::{ELB_LOG_ACCOUNTS[region]}:root",
        "id": ELB_LOG_ACCOUNTS[region],
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getRegion:getRegion": lambda args, region: {"region": region, "name": region, "id": region},
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, region: {
        "accountId": ACCOUNT_ID,
        # Deployments run with an assumed role (CI, SSO): the session ARN, not the role's.
        "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/smartdairy-deployer/synth-session",
        "userId": "AIDASYNTH",
        "id": ACCOUNT_ID,
    },
    "aws:iam/getSessionContext:getSessionContext": lambda args, region: {
        "arn": args["arn"],
        "issuerArn": re.sub(r":sts::(\d+):assumed-role/([^/]+)/.*", r":iam::\1:role/\2", args["arn"]),
        "issuerName": args["arn"].rsplit("/", 2)[-2 if ":assumed-role/" in args["arn"] else -1],
        "sessionName": args["arn"].rsplit("/", 1)[-1] if ":assumed-role/" in args["arn"] else "",
        "id": args["arn"],
    },
    "aws:lb/getLoadBalancer:getLoadBalancer": lambda args, region: {
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:loadbalancer/app/{args['name']}/0123456789abcdef",
        "arnSuffix": f"app/{args['name']}/0123456789abcdef",
        "dnsName": f"{args['name']}-0123456789.{region}.elb.amazonaws.com",
        "name": args["name"],
        "id": args["name"],
    },
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": lambda args, region: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{args['url'].removeprefix('https://')}",
        "url": args["url"],
        "clientIdLists": ["sts.amazonaws.com"],
        "id": args["url"],
    },
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": lambda args, region: {
        "id": "pl-4fa04526",
        "name": args["name"],
        "arn": f"arn:aws:ec2:{region}:aws:prefix-list/pl-4fa04526",
        "maxEntries": 55,
        "addressFamily": "IPv4",
        "entries": [{"cidr": "120.52.22.96/27", "description": ""}, {"cidr": "205.251.249.0/24", "description": ""}],
    },
    "aws:index/getPartition:getPartition": lambda args, region: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
}


def invoke_result(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    try:
        return _INVOKES[token](args, region)
    except KeyError:
        raise NotImplementedError(f"the mock engine has no answer for invoke {token}") from None
