"""Rebuild a price file from the AWS Price List API (pricing:GetProducts; any AWS credentials).

    tools/price_refresh.py [--region eu-west-1] [--dry-run]

Queries every key of cost/prices/<region>.json that it knows how to ask for: instance types of
EC2, RDS PostgreSQL (Single-AZ), ElastiCache and OpenSearch by their attributes (the filters
Karpenter uses for EC2), Karpenter's per-vCPU prices from a representative xlarge of each
category, and the rest by usage type. Takes the on-demand price of the first tier. Keys it cannot
query (global services priced alike everywhere: CloudFront, WAF, Lambda@Edge, Budgets,
Synthetics, Backup) or that the API does not answer keep their entry and are listed. Writes the
file with today's date as its version, unless --dry-run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cost import prices

#: The Price List API answers in us-east-1 (and ap-south-1, eu-central-1).
PRICING_REGION = "us-east-1"
#: Usage types carry a region prefix; eu-west-1's is the legacy "EU-".
USAGE_PREFIX = {"eu-west-1": "EU-", "us-east-1": "", "eu-central-1": "EUC1-", "us-west-2": "USW2-"}
#: Karpenter's categories priced per vCPU from one representative type each.
REPRESENTATIVE = {"c": "c7i.xlarge", "m": "m7i.xlarge", "r": "r7i.xlarge", "t": "t3.xlarge"}
EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "marketoption": "OnDemand",
}
#: Filters besides the usage type where several products share one (ALB, NLB and CLB do).
EXTRA_FILTERS = {
    "elb/alb-hour": {"operation": "LoadBalancing:Application"},
    "elb/alb-lcu-hour": {"operation": "LoadBalancing:Application"},
}
#: key -> (service code, usage type after the region prefix, units of the key per API unit).
USAGE_TYPES: dict[str, tuple[str, str, float]] = {
    "eks/cluster-hour": ("AmazonEKS", "AmazonEKS-Hours:perCluster", 1),
    "vpc/nat-gateway-hour": ("AmazonEC2", "NatGateway-Hours", 1),
    "vpc/nat-gateway-gb": ("AmazonEC2", "NatGateway-Bytes", 1),
    "vpc/public-ipv4-hour": ("AmazonVPC", "PublicIPv4:InUseAddress", 1),
    "vpc/interface-endpoint-hour": ("AmazonVPC", "VpcEndpoint-Hours", 1),
    "elb/alb-hour": ("AWSELB", "LoadBalancerUsage", 1),
    "elb/alb-lcu-hour": ("AWSELB", "LCUUsage", 1),
    "ebs/gp3-gb-month": ("AmazonEC2", "EBS:VolumeUsage.gp3", 1),
    "rds/gp3-gb-month": ("AmazonRDS", "RDS:GP3-Storage", 1),
    "rds/backup-gb-month": ("AmazonRDS", "RDS:ChargedBackupUsage", 1),
    "opensearch/gp3-gb-month": ("AmazonES", "ES:GP3-Storage", 1),
    "kms/key-month": ("awskms", "KMS-Keys", 1),
    "kms/10k-calls": ("awskms", "KMS-Requests", 1e4),
    "secretsmanager/secret-month": ("AWSSecretsManager", "AWSSecretsManager-Secrets", 1),
    "secretsmanager/10k-calls": ("AWSSecretsManager", "AWSSecretsManager-APIRequest", 1e4),
    "cloudwatch/metric-month": ("AmazonCloudWatch", "CW:MetricMonitorUsage", 1),
    "cloudwatch/alarm-metric-month": ("AmazonCloudWatch", "CW:AlarmMonitorUsage", 1),
    "cloudwatch/logs-ingest-gb": ("AmazonCloudWatch", "DataProcessing-Bytes", 1),
    "cloudwatch/logs-storage-gb-month": ("AmazonCloudWatch", "TimedStorage-ByteHrs", 1),
    "s3/standard-gb-month": ("AmazonS3", "TimedStorage-ByteHrs", 1),
    "s3/1k-put-requests": ("AmazonS3", "Requests-Tier1", 1e3),
    "sqs/1m-requests": ("AWSQueueService", "Requests-RBP", 1e6),
    "kinesis/shard-hour": ("AmazonKinesis", "Storage-ShardHour", 1),
    "kinesis/put-1m-units": ("AmazonKinesis", "PutRequestPayloadUnits", 1e6),
    "lambda/1m-requests": ("AWSLambda", "Request", 1e6),
    "lambda/gb-second": ("AWSLambda", "Lambda-GB-Second", 1),
    "efs/standard-gb-month": ("AmazonEFS", "TimedStorage-ByteHrs", 1),
}


@dataclass(frozen=True)
class Query:
    service: str
    filters: dict[str, str]
    #: Key units per API unit (per 10k requests: 1e4); per vCPU: divide by the type's vcpu.
    scale: float = 1.0
    per_vcpu: bool = False


def query(key: str, region: str) -> Query | None:
    """How to ask for `key` in `region`, or None when this tool does not know."""
    kind, _, item = key.partition("/")
    on_region = {"regionCode": region}
    if kind == "ec2" and item.startswith("instance/"):
        return Query("AmazonEC2", {**on_region, **EC2_FILTERS, "instanceType": item.removeprefix("instance/")})
    if kind == "ec2" and item.startswith("vcpu/") and item[5:] in REPRESENTATIVE:
        return Query("AmazonEC2", {**on_region, **EC2_FILTERS, "instanceType": REPRESENTATIVE[item[5:]]}, per_vcpu=True)
    if kind == "rds" and item.startswith("instance/"):
        engine = {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}
        return Query("AmazonRDS", {**on_region, **engine, "instanceType": item.removeprefix("instance/")})
    if kind == "elasticache" and item.startswith("node/"):
        node_type, cache_engine = item.removeprefix("node/").split("/")
        filters = {**on_region, "instanceType": node_type, "cacheEngine": cache_engine.capitalize()}
        return Query("AmazonElastiCache", filters)
    if kind == "opensearch" and item.startswith("instance/"):
        return Query("AmazonES", {**on_region, "instanceType": item.removeprefix("instance/")})
    if key in USAGE_TYPES and region in USAGE_PREFIX:
        service, usage_type, scale = USAGE_TYPES[key]
        filters = {**on_region, "usagetype": USAGE_PREFIX[region] + usage_type, **EXTRA_FILTERS.get(key, {})}
        return Query(service, filters, scale)
    return None


def products(client: Any, q: Query) -> Iterator[dict]:
    """Every product the query matches (the API's PriceList holds JSON strings)."""
    request = {
        "ServiceCode": q.service,
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in q.filters.items()],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    while True:
        page = client.get_products(**request)
        yield from (json.loads(item) for item in page.get("PriceList", []))
        if not page.get("NextToken"):
            return
        request["NextToken"] = page["NextToken"]


def on_demand_usd(product: dict) -> float | None:
    """The first paid tier's USD price of the product's on-demand term (a free tier, listed at
    $0, is skipped; None: no price)."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        dimensions = sorted(term.get("priceDimensions", {}).values(), key=lambda d: float(d.get("beginRange", 0)))
        for dimension in dimensions:
            value = float(dimension.get("pricePerUnit", {}).get("USD", "nan"))
            if value == value and value > 0:  # not NaN, not a free tier
                return value
    return None


def price(client: Any, q: Query) -> tuple[float, str] | None:
    """(USD per key unit, SKU) of the query's product, or None if the API has none priced."""
    for product in products(client, q):
        value = on_demand_usd(product)
        if value is None:
            continue
        if q.per_vcpu:
            value /= float(product["product"]["attributes"]["vcpu"])
        return round(value * q.scale, 10), product["product"].get("sku", "")
    return None


def refresh(client: Any, data: dict, today: datetime.date) -> tuple[dict, list[str]]:
    """The price file `data` with every key it can query refreshed; and the keys kept as were."""
    entries, kept = {}, []
    for key, entry in data["prices"].items():
        q = query(key, data["region"])
        found = price(client, q) if q else None
        if found is None:
            entries[key] = entry
            kept.append(key)
            continue
        usd, sku = found
        entries[key] = {"usd": usd, "unit": entry.get("unit", ""), "source": f"price-list-api {sku}".strip()}
    refreshed = {
        **data,
        "version": f"{today.isoformat()}.1",
        "retrieved": today.isoformat(),
        "source": f"AWS Price List API (pricing:GetProducts), {data['region']}, on-demand, first tier; "
        f"entries whose source is not price-list-api were kept from version {data['version']}",
        "prices": entries,
    }
    return refreshed, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="eu-west-1", help="the price file's region")
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    args = parser.parse_args(argv)
    path = prices.price_file(args.region)
    try:
        prices.load(path, args.region)
    except prices.PriceFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import boto3

    data = json.loads(path.read_text())
    refreshed, kept = refresh(boto3.client("pricing", region_name=PRICING_REGION), data, datetime.date.today())
    for key, entry in refreshed["prices"].items():
        before = data["prices"][key]["usd"]
        if entry["usd"] != before:
            print(f"{key}: {before} -> {entry['usd']}")
    print(f"kept (not queried or not answered): {', '.join(kept) or 'none'}")
    if not args.dry_run:
        path.write_text(json.dumps(refreshed, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
