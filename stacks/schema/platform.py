"""The whole platform's stack config: one section per component."""

from __future__ import annotations

import ipaddress
import urllib.parse

from pydantic import Field, field_validator, model_validator

from components.apps.pgbouncer_config import Budget, Target, connection_budget
from components.compute.karpenter_manifests import longest_pod_life_hours
from components.data.rds_trust import BUNDLE_FILE, bundled_regions
from components.delivery.access import principal_name
from components.observability.synthetics import SyntheticCheck
from components.settings import Section

from ..wiring import client_demand, pool_roles
from .cache import CacheConfig
from .capacity import CapacityConfig
from .cdn import ORIGIN_SHIELD_REGIONS, CdnConfig
from .cluster import ClusterConfig
from .cost import CostConfig
from .database import DatabaseConfig
from .delivery import DeliveryConfig
from .environment import ENVIRONMENTS
from .load_test import LoadTestConfig
from .network import NetworkConfig
from .observability import MonitoringConfig
from .pgbouncer import PgBouncerConfig
from .search import SearchConfig
from .workloads import WorkloadsConfig


class TagsConfig(Section):
    """Cost-allocation tags. Project, Environment and ManagedBy are derived, not configured."""

    owner: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\w .:/=+@-]+$",
        description="Owner tag: the team that answers for the stack.",
    )
    cost_center: str = Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$", description="CostCenter tag.")


class PlatformConfig(Section):
    environment: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,15}$",
        description="Which environment this stack is (" + ", ".join(ENVIRONMENTS) + "): it picks the policy "
        "set and the protection rules, whatever the stack is called; also in resource names and tags.",
    )
    region: str = Field(
        pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", description="AWS region (the `aws:region` key)."
    )
    example: bool = Field(
        False,
        description="The stack file is a template whose documentation placeholders (RFC 5737 ranges, "
        "AWS example accounts) still wait for real values. Unset, such values are refused.",
    )
    protect_stateful_resources: bool = Field(
        description="Pulumi `protect` on databases, caches, buckets, keys and secrets (true in prod)."
    )
    credential_rotation_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days between rotations of every database and cache credential (Secrets Manager); "
        "longer than any pod lives (cluster.karpenter.nodePools expireAfter + terminationGracePeriod).",
    )
    tags: TagsConfig = Field(description="Cost-allocation tags on every AWS resource.")
    network: NetworkConfig = Field(description="VPC, subnet tiers, NAT, flow logs.")
    cdn: CdnConfig = Field(description="CloudFront, its certificate, cache policies and WAF.")
    database: DatabaseConfig = Field(description="RDS PostgreSQL.")
    cache: CacheConfig = Field(description="ElastiCache.")
    search: SearchConfig = Field(description="OpenSearch: the catalogue search.")
    cluster: ClusterConfig = Field(
        description="EKS, add-ons, Karpenter, the load balancer controller, the deployer's access."
    )
    delivery: DeliveryConfig = Field(
        description="Who deploys and previews the stack, and the runner network they work from (bootstrap/)."
    )
    pgbouncer: PgBouncerConfig = Field(description="PgBouncer pools.")
    workloads: WorkloadsConfig = Field(description="Odoo and the API gateway.")
    capacity: CapacityConfig = Field(
        CapacityConfig.model_validate({}), description="Capacity targets the capacity policies check."
    )
    cost: CostConfig = Field(description="What the stack may cost: budget, ceiling, anomaly alerts.")
    load_test: LoadTestConfig = Field(
        LoadTestConfig.model_validate({}), description="The seed's k6 load test, run in the cluster when enabled."
    )
    monitoring: MonitoringConfig = Field(
        MonitoringConfig.model_validate({}), description="Prometheus and prometheus-adapter."
    )

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in ENVIRONMENTS:
            raise ValueError(
                f"not an environment with a policy set; allowed: {', '.join(ENVIRONMENTS)} "
                "(a new one needs policies/config/<name>.json)"
            )
        return value

    @field_validator("region")
    @classmethod
    def _rds_trusted(cls, value: str) -> str:
        if value not in bundled_regions():
            raise ValueError(
                f"no RDS root of this region in {BUNDLE_FILE.name} (components/data/), so clients could not "
                f"verify the database; allowed: {', '.join(bundled_regions())}, or add the region's roots from "
                f"https://truststore.pki.rds.amazonaws.com/{value}/{value}-bundle.pem"
            )
        return value

    @model_validator(mode="after")
    def _cross_section_rules(self) -> PlatformConfig:
        # Messages from this validator start with the key they are about (see loader._describe).
        if self.cdn.origin_shield and self.region not in ORIGIN_SHIELD_REGIONS:
            raise ValueError(
                f"cdn.originShield: CloudFront has no Origin Shield in {self.region} (aws:region); "
                "set it to false or deploy to one of " + ", ".join(ORIGIN_SHIELD_REGIONS)
            )
        if self.search.zone_count > self.network.az_count:
            raise ValueError(
                f"search.zoneCount: {self.search.zone_count} zones but the network spans "
                f"network.azCount = {self.network.az_count}; allowed: 1 to {self.network.az_count}"
            )
        self._delivery_path()
        audit_days = self.cluster.log_retention_days
        for key, days in (
            ("cache.logRetentionDays", self.cache.log_retention_days),
            ("search.logRetentionDays", self.search.log_retention_days),
        ):
            if days < audit_days:
                raise ValueError(
                    f"{key}: {days} days is shorter than the stack's audit retention (cluster.logRetentionDays = "
                    f"{audit_days}); an incident's Redis or OpenSearch logs would be gone before its audit "
                    f"trail; allowed: {audit_days} days or more"
                )
        self._pods_outlive_no_credential()
        self._canaries_on_own_hosts()
        problems = self.connection_budget().problems
        if problems:
            raise ValueError(
                "pgbouncer: connection budget against database.maxConnections "
                f"({self.database.max_connections}) does not fit: " + "; ".join(problems)
            )
        return self

    def stack_hosts(self) -> list[str]:
        """The names CloudFront serves for this stack: the apex, www, Odoo's and the API's hosts."""
        cdn = self.cdn
        labels = ["www", cdn.odoo_host, *([cdn.api_host] if cdn.api_host else [])]
        return [cdn.domain, *(f"{label}.{cdn.domain}" for label in labels)]

    def synthetic_checks(self) -> list[SyntheticCheck]:
        """The canaries' checks: the configured URLs, or the stack's own defaults."""
        c, domain = self.monitoring.canaries, self.cdn.domain
        odoo = f"https://{self.cdn.odoo_host}.{domain}"
        return [
            SyntheticCheck(
                "page-load", "page", c.pages or [f"https://{domain}/", f"{odoo}/shop"], c.page_load_ms, "page load"
            ),
            SyntheticCheck(
                "static-asset",
                "asset",
                c.static_assets or [f"{odoo}/web/static/img/favicon.ico"],
                c.static_asset_ms,
                "static asset latency",
            ),
            SyntheticCheck(
                "api",
                "api",
                c.api_calls or [f"https://{domain}/api/v2/products?page=1&limit=20"],
                c.api_ms,
                "API round trip",
            ),
        ]

    def _canaries_on_own_hosts(self) -> None:
        """A canary measures this stack: https:// on one of its hosts, nothing else."""
        hosts = self.stack_hosts()
        c = self.monitoring.canaries
        for key, urls in (("pages", c.pages), ("staticAssets", c.static_assets), ("apiCalls", c.api_calls)):
            for index, url in enumerate(urls or []):
                parts = urllib.parse.urlsplit(url)
                if parts.scheme != "https" or parts.hostname not in hosts:
                    raise ValueError(
                        f"monitoring.canaries.{key}[{index}]: {url} is not https:// on one of the stack's hosts; "
                        f"allowed: {', '.join(hosts)}"
                    )

    def _pods_outlive_no_credential(self) -> None:
        """A pod reads its database and cache credentials at start, and the rotation keeps them
        valid for one more rotation. Secrets Manager rotates at a random hour of the due day,
        so two rotations may be a day short of the period apart: no pod may live that long."""
        days = self.credential_rotation_days
        limit = (days - 1) * 24
        for index, pool in enumerate(self.cluster.karpenter.node_pools):
            hours = longest_pod_life_hours(pool)
            if hours is None or hours >= limit:
                life = "forever" if hours is None else f"{hours:g}h"
                raise ValueError(
                    f"cluster.karpenter.nodePools[{index}].expireAfter: pods on {pool.name} may live {life} "
                    f"(expireAfter + terminationGracePeriod), but credentials rotate every credentialRotationDays = "
                    f"{days} days: a pod would outlive its credential; allowed: expireAfter + terminationGracePeriod "
                    f"below {limit}h"
                )

    def _delivery_path(self) -> None:
        """The deployer needs a network path to the Kubernetes API, and a peered runner one that
        the endpoint's name resolves to: EKS resolves it to private addresses outside the VPC
        only while the public endpoint is off."""
        for key, arn, kind in (
            ("deployRoleArn", self.delivery.deploy_role_arn, "deploy"),
            ("previewRoleArn", self.delivery.preview_role_arn, "preview"),
            ("permissionsBoundaryArn", self.delivery.permissions_boundary_arn, "boundary"),
        ):
            expected = principal_name(self.environment, kind)
            if arn.rsplit("/", 1)[-1] != expected:
                raise ValueError(
                    f"delivery.{key}: {arn.rsplit('/', 1)[-1]} is not environment {self.environment}'s "
                    f"(bootstrap/ names it {expected}); a stack never uses another environment's identity"
                )
        runner, cluster = self.delivery.runner, self.cluster
        if runner is None and not cluster.public_access_cidrs and not cluster.private_access_cidrs:
            raise ValueError(
                "delivery.runner: the deployer has no network path to the Kubernetes API; set it (the "
                "bootstrap's runner for this environment), cluster.privateAccessCidrs or cluster.publicAccessCidrs"
            )
        if runner is None:
            return
        if cluster.public_access_cidrs:
            raise ValueError(
                "cluster.publicAccessCidrs: must be empty with delivery.runner: a public endpoint's name "
                "resolves to public addresses outside the VPC, so the runner's peering would not carry its calls"
            )
        if ipaddress.ip_network(runner.cidr).overlaps(ipaddress.ip_network(self.network.cidr)):
            raise ValueError(
                f"delivery.runner.cidr: {runner.cidr} overlaps network.cidr {self.network.cidr}; peered "
                "networks need separate ranges"
            )

    def connection_budget(self) -> Budget:
        """PgBouncer's worst case against RDS, checked before anything is created."""
        return connection_budget(
            pool_roles(self.pgbouncer),
            Target("primary", self.database.max_connections),
            [Target(f"replica-{i + 1}", self.database.max_connections) for i in range(self.database.replicas)],
            client_demand(self.workloads),
        )

    def required_tags(self, project: str) -> dict[str, str]:
        return {
            "Project": project,
            "Environment": self.environment,
            "Owner": self.tags.owner,
            "CostCenter": self.tags.cost_center,
            "ManagedBy": "pulumi",
        }
