"""One source of truth per setting: every config field reaches a component Args field of the
same name (or is consumed by the composition, listed below with why), and no Args field that
config supplies carries a default of its own to drift from the schema's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from components.apps.api_gateway import ApiGatewayArgs
from components.apps.database_bootstrap import DatabaseBootstrapArgs
from components.apps.load_test import LoadTestArgs
from components.apps.load_test_data import LoadTestDataArgs
from components.apps.odoo import OdooArgs
from components.apps.odoo_config import OdooSettings
from components.apps.pgbouncer import PgBouncerArgs
from components.apps.pgbouncer_config import PoolRole, ServerTimeouts
from components.compute.eks_cluster import EksClusterArgs
from components.compute.karpenter import KarpenterArgs
from components.compute.load_balancer_controller import LoadBalancerControllerArgs
from components.compute.secrets_store import SecretsStoreDriverArgs
from components.data.database_credentials import DatabaseCredentialsArgs
from components.data.postgres import PostgresDatabaseArgs
from components.data.postgres_parameters import PostgresTuning
from components.data.redis import RedisCacheArgs
from components.data.redis_parameters import RedisTuning
from components.data.search import SearchDomainArgs
from components.edge.cdn import CdnArgs, SecurityHeaders
from components.edge.firewall import EdgeFirewallArgs
from components.network.vpc import NetworkArgs
from components.observability.alarm_topic import AlarmTopicArgs
from components.observability.canary import CanariesArgs
from components.observability.monitoring import MonitoringArgs
from components.observability.slo_rules import SloTargets
from stacks.schema.cache import CacheConfig
from stacks.schema.cdn import CdnConfig, WafConfig
from stacks.schema.cluster import ClusterConfig, KarpenterConfig, LoadBalancerControllerConfig, SecretsStoreConfig
from stacks.schema.database import DatabaseBootstrapConfig, DatabaseConfig
from stacks.schema.load_test import LoadTestConfig
from stacks.schema.network import NetworkConfig
from stacks.schema.observability import CanariesConfig, MonitoringConfig, NotificationsConfig, SloConfig
from stacks.schema.pgbouncer import PgBouncerConfig, PoolConfig
from stacks.schema.search import SearchConfig
from stacks.schema.workloads import GatewayConfig, OdooConfig
from stacks.wiring import args_from


@dataclass(frozen=True)
class Wiring:
    section: type
    args: tuple[type, ...]
    #: Fields the composition (stacks/*.py) consumes itself, and why.
    composed: dict[str, str] = dataclasses.field(default_factory=dict)


WIRING = [
    Wiring(NetworkConfig, (NetworkArgs,), {"az_count": "picks the zones the network spans"}),
    Wiring(
        DatabaseConfig,
        (PostgresDatabaseArgs, PostgresTuning, DatabaseCredentialsArgs),
        {"bootstrap": "its own section"},
    ),
    Wiring(DatabaseBootstrapConfig, (DatabaseBootstrapArgs,), {"reader_tables": "DatabaseRoles.reader_tables"}),
    Wiring(
        CacheConfig,
        (RedisCacheArgs, RedisTuning),
        {"layout": "how many groups, one per role", "sessions_node_type": "node_type of the sessions group"},
    ),
    Wiring(
        ClusterConfig,
        (EksClusterArgs,),
        {
            "karpenter": "its own section (KarpenterArgs)",
            "load_balancer_controller": "its own section (LoadBalancerControllerArgs)",
            "secrets_store": "its own section (SecretsStoreDriverArgs)",
            "addons": "versions into the Addon list with each add-on's identity (stacks/compute.addons)",
        },
    ),
    Wiring(KarpenterConfig, (KarpenterArgs,)),
    Wiring(SecretsStoreConfig, (SecretsStoreDriverArgs,)),
    Wiring(LoadBalancerControllerConfig, (LoadBalancerControllerArgs,)),
    Wiring(
        CdnConfig,
        (CdnArgs, SecurityHeaders),
        {
            "ttls": "the cache policies by role (cdn_policies.cache_policies: the seed's and Odoo's)",
            "hit_rate_sampling_percent": "CacheHitSamplerArgs.sampling_percent",
            "waf": "its own section (EdgeFirewallArgs)",
            "origin_secret_version": "AppIngressArgs.origin_secret_version",
            "origin_secret_rotation_days": "AppIngressArgs.origin_secret_period (rotation_period of today)",
            "origin_shield": "origin_shield_region: the stack's region or none",
            "access_logs": "log_retention_days or none",
            "access_log_retention_days": "log_retention_days",
        },
    ),
    Wiring(WafConfig, (EdgeFirewallArgs,)),
    Wiring(
        PgBouncerConfig,
        (PgBouncerArgs, ServerTimeouts),
        {role: "a PoolRole (stacks.wiring.pool_roles)" for role in ("rw", "ro", "session")},
    ),
    Wiring(PoolConfig, (PoolRole,)),
    Wiring(
        OdooConfig,
        (OdooArgs, OdooSettings),
        {
            "filestore_gb": "SharedFilesystemArgs.claim_size_gb",
            "hpa": "hpa_spec",
            "modules": "ReleasePlan.modules",
            "release_revision": "ReleasePlan.revision",
            "snapshot_image": "ReleasePlan.snapshot_image",
        },
    ),
    Wiring(GatewayConfig, (ApiGatewayArgs,), {"hpa": "hpa_spec"}),
    Wiring(
        MonitoringConfig,
        (MonitoringArgs,),
        {
            "slo": "SloTargets, then slo_rule_groups",
            "alarms": "the alarm specs",
            "notifications": "AlarmTopicArgs",
            "canaries": "CanariesArgs",
        },
    ),
    Wiring(
        CanariesConfig,
        (CanariesArgs,),
        {
            "enabled": "whether the Canaries are composed at all",
            "pages": "PlatformConfig.synthetic_checks",
            "static_assets": "PlatformConfig.synthetic_checks",
            "api_calls": "PlatformConfig.synthetic_checks",
            "page_load_ms": "PlatformConfig.synthetic_checks",
            "static_asset_ms": "PlatformConfig.synthetic_checks",
            "api_ms": "PlatformConfig.synthetic_checks",
        },
    ),
    Wiring(SearchConfig, (SearchDomainArgs,)),
    Wiring(LoadTestConfig, (LoadTestArgs, LoadTestDataArgs), {"enabled": "whether the LoadTest is composed at all"}),
    Wiring(
        NotificationsConfig,
        (AlarmTopicArgs,),
        {
            "warning_emails": "the warnings topics' AlarmTopicArgs.emails",
            "warning_https_endpoints": "the warnings topics' AlarmTopicArgs.https_endpoints",
        },
    ),
    Wiring(SloConfig, (SloTargets,)),
]


def fields(args_type: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(args_type)}


@pytest.mark.parametrize("wiring", WIRING, ids=lambda w: w.section.__name__)
def test_every_config_field_reaches_a_component(wiring):
    consumed = {name for args in wiring.args for name in fields(args)} | set(wiring.composed)
    assert set(wiring.section.model_fields) - consumed == set()
    assert set(wiring.composed) <= set(wiring.section.model_fields), "stale entries in `composed`"


@pytest.mark.parametrize("wiring", WIRING, ids=lambda w: w.section.__name__)
def test_args_take_no_default_for_what_config_supplies(wiring):
    drifting = [
        f"{args.__name__}.{name}"
        for args in wiring.args
        for name, field in fields(args).items()
        if name in wiring.section.model_fields
        and (field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING)
    ]
    assert drifting == []


def test_a_field_nobody_supplies_fails_loudly():
    with pytest.raises(TypeError, match="no config field or wiring for vpc_id"):
        args_from(WafConfig(), PostgresDatabaseArgs)


def test_wiring_a_field_the_args_do_not_have_fails():
    with pytest.raises(TypeError, match="wired fields it does not have: rate_limt"):
        args_from(WafConfig(), EdgeFirewallArgs, rate_limt=10)
