"""Config of the applications on EKS. HPA defaults are the seed's `infrastructure/k8s/hpa.yaml`."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from components.apps.pgbouncer_config import ClientDemand

from .base import Section

IMAGE = r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$"
CPU = r"^\d+m?$"
MEMORY = r"^\d+(Mi|Gi)$"


def mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


class ResourcesConfig(Section):
    cpu_request: str = Field(pattern=CPU)
    cpu_limit: str = Field(pattern=CPU)
    memory_request: str = Field(pattern=MEMORY)
    memory_limit: str = Field(pattern=MEMORY)

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourcesConfig:
        if mebibytes(self.memory_limit) < mebibytes(self.memory_request):
            raise ValueError(f"memoryLimit {self.memory_limit} is below memoryRequest {self.memory_request}")
        return self

    def as_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


class ScalingBounds(Section):
    @model_validator(mode="after")
    def _ordered(self):
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        return self


class OdooHpaConfig(ScalingBounds):
    """odoo-hpa. Defaults: the seed."""

    min_replicas: int = Field(3, ge=1, le=500)
    max_replicas: int = Field(20, ge=1, le=500)
    cpu_utilization: int = Field(70, ge=10, le=100)
    memory_utilization: int = Field(80, ge=10, le=100)
    requests_per_second: int = Field(100, ge=1, le=100000, description="Pods metric http_requests_per_second.")
    scale_up_stabilization_s: int = Field(60, ge=0, le=3600)
    scale_up_percent: int = Field(100, ge=1, le=1000)
    scale_up_pods: int = Field(4, ge=1, le=100)
    scale_up_period_s: int = Field(60, ge=1, le=1800)
    scale_down_stabilization_s: int = Field(300, ge=0, le=3600)
    scale_down_percent: int = Field(10, ge=1, le=100)
    scale_down_period_s: int = Field(60, ge=1, le=1800)


class GatewayHpaConfig(ScalingBounds):
    """api-gateway-hpa. Defaults: the seed."""

    min_replicas: int = Field(2, ge=1, le=500)
    max_replicas: int = Field(15, ge=1, le=500)
    cpu_utilization: int = Field(60, ge=10, le=100)
    latency_p95: str = Field(
        "300m", pattern=r"^\d+m?$", description="External metric response_latency_p95 target (seconds; 300m = 300 ms)."
    )
    scale_up_stabilization_s: int = Field(30, ge=0, le=3600)
    scale_up_percent: int = Field(200, ge=1, le=1000)
    scale_up_period_s: int = Field(30, ge=1, le=1800)
    scale_down_stabilization_s: int = Field(300, ge=0, le=3600)
    scale_down_percent: int = Field(25, ge=1, le=100)
    scale_down_period_s: int = Field(120, ge=1, le=1800)


class OdooConfig(Section):
    image: str = Field(
        pattern=IMAGE, description="Odoo 18 image with session_redis and the metrics exporter; pinned tag."
    )
    workers: int = Field(ge=1, le=64)
    max_cron_threads: int = Field(1, ge=0, le=8)
    db_maxconn: int = Field(8, ge=2, le=64, description="Connections per Odoo process (each worker has its own pool).")
    limit_memory_soft_mb: int = Field(ge=256, le=16384)
    limit_memory_hard_mb: int = Field(ge=256, le=32768)
    limit_time_cpu_s: int = Field(60, ge=10, le=3600)
    limit_time_real_s: int = Field(120, ge=10, le=7200)
    resources: ResourcesConfig
    longpolling_replicas: int = Field(2, ge=1, le=20)
    longpolling_resources: ResourcesConfig
    filestore_gb: int = Field(100, ge=1, le=100000)
    hpa: OdooHpaConfig = OdooHpaConfig()

    @model_validator(mode="after")
    def _memory_fits(self) -> OdooConfig:
        if self.limit_memory_soft_mb >= self.limit_memory_hard_mb:
            raise ValueError("limitMemorySoftMb must be below limitMemoryHardMb")
        if self.limit_time_cpu_s > self.limit_time_real_s:
            raise ValueError("limitTimeCpuS must not exceed limitTimeRealS")
        needed = (self.workers + 1) * self.limit_memory_soft_mb
        if mebibytes(self.resources.memory_limit) < needed:
            raise ValueError(
                f"resources.memoryLimit {self.resources.memory_limit} cannot hold {self.workers} workers plus the "
                f"main process at limitMemorySoftMb {self.limit_memory_soft_mb} ({needed}Mi); raise it or lower workers"
            )
        return self


class GatewayConfig(Section):
    image: str = Field(pattern=IMAGE)
    port: int = Field(8000, ge=1024, le=65535)
    db_pool_size: int = Field(10, ge=1, le=100, description="Connections per gateway pod.")
    resources: ResourcesConfig
    hpa: GatewayHpaConfig = GatewayHpaConfig()


class WorkloadsConfig(Section):
    """Odoo and the API gateway: images, sizes, the seed's HPAs."""

    metrics_port: int = Field(9100, ge=1024, le=65535, description="Port of the apps' Prometheus metrics.")
    odoo: OdooConfig
    gateway: GatewayConfig

    def client_demand(self) -> ClientDemand:
        return ClientDemand(
            odoo_max_pods=self.odoo.hpa.max_replicas,
            odoo_workers_per_pod=self.odoo.workers,
            odoo_db_maxconn=self.odoo.db_maxconn,
            longpolling_max_pods=self.odoo.longpolling_replicas,
            gateway_max_pods=self.gateway.hpa.max_replicas,
            gateway_pool_size=self.gateway.db_pool_size,
        )


class MonitoringConfig(Section):
    """Prometheus and prometheus-adapter (the HPAs' custom and external metrics)."""

    prometheus_chart_version: str = Field("79.7.1", pattern=r"^\d+\.\d+\.\d+$")
    adapter_chart_version: str = Field("5.2.0", pattern=r"^\d+\.\d+\.\d+$")
    retention: str = Field("15d", pattern=r"^\d+[hdw]$")
    storage_gb: int = Field(50, ge=10, le=10000)
