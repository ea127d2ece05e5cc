"""Config of the applications on EKS. HPA defaults are the seed's `infrastructure/k8s/hpa.yaml`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from components.k8s.hpa import HpaSettings
from components.k8s.pod_spec import ContainerResources
from components.settings import PinnedImage, Section, mebibytes

#: The seed's infrastructure/k8s/hpa.yaml, the defaults of each workload's `hpa` (keys as in config).
ODOO_HPA_SEED = {
    "minReplicas": 3,
    "maxReplicas": 20,
    "cpuUtilization": 70,
    "memoryUtilization": 80,
    "requestsPerSecond": 100,
    "scaleUpStabilizationS": 60,
    "scaleUpPercent": 100,
    "scaleUpPods": 4,
    "scaleUpPeriodS": 60,
    "scaleDownStabilizationS": 300,
    "scaleDownPercent": 10,
    "scaleDownPeriodS": 60,
}
GATEWAY_HPA_SEED = {
    "minReplicas": 2,
    "maxReplicas": 15,
    "cpuUtilization": 60,
    "latencyP95": "300m",
    "scaleUpStabilizationS": 30,
    "scaleUpPercent": 200,
    "scaleUpPeriodS": 30,
    "scaleDownStabilizationS": 300,
    "scaleDownPercent": 25,
    "scaleDownPeriodS": 120,
}


def over_seed(seed: dict, value):
    """The keys a stack sets for an `hpa`, over the seed's HPA of that workload."""
    return {**seed, **value} if isinstance(value, dict) else value


class OdooConfig(Section):
    image: PinnedImage = Field(description="Odoo 18 image with session_redis and the metrics exporter; pinned tag.")
    workers: int = Field(ge=1, le=64, description="HTTP worker processes per pod.")
    max_cron_threads: int = Field(1, ge=0, le=8, description="Cron workers per pod.")
    db_maxconn: int = Field(8, ge=2, le=64, description="Connections per Odoo process (each worker has its own pool).")
    limit_memory_soft_mb: int = Field(
        ge=256, le=16384, description="A worker over this is recycled after its request, MB."
    )
    limit_memory_hard_mb: int = Field(ge=256, le=32768, description="A worker over this is killed at once, MB.")
    limit_time_cpu_s: int = Field(60, ge=10, le=3600, description="CPU seconds a request may use.")
    limit_time_real_s: int = Field(120, ge=10, le=7200, description="Wall seconds a request may take.")
    resources: ContainerResources = Field(description="Requests and limits of an Odoo web pod.")
    longpolling_replicas: int = Field(2, ge=1, le=20, description="Pods of the bus (gevent) worker.")
    longpolling_resources: ContainerResources = Field(description="Requests and limits of a bus pod.")
    filestore_gb: int = Field(
        100, ge=1, le=100000, description="Size of the shared filestore claim, GiB (EFS grows as needed)."
    )
    hpa: HpaSettings = Field(HpaSettings.model_validate(ODOO_HPA_SEED), description="odoo-hpa. Defaults: the seed.")
    modules: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]] = Field(
        ["base"],
        min_length=1,
        description="Modules each release installs when missing and upgrades otherwise (odoo -i/-u, after a "
        "snapshot), before pods of a new image start.",
    )
    release_revision: int = Field(1, ge=1, description="Bump to release again with the same image and modules.")
    snapshot_image: PinnedImage = Field(
        "public.ecr.aws/aws-cli/aws-cli:2.22.0", description="AWS CLI image that snapshots RDS before a release."
    )

    @field_validator("hpa", mode="before")
    @classmethod
    def _hpa_over_seed(cls, value):
        return over_seed(ODOO_HPA_SEED, value)

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
    image: PinnedImage = Field(description="FastAPI gateway image, pinned tag.")
    port: int = Field(8000, ge=1024, le=65535, description="Port the gateway serves HTTP on.")
    db_pool_size: int = Field(10, ge=1, le=100, description="Connections per gateway pod.")
    resources: ContainerResources = Field(description="Requests and limits of a gateway pod.")
    hpa: HpaSettings = Field(
        HpaSettings.model_validate(GATEWAY_HPA_SEED), description="api-gateway-hpa. Defaults: the seed."
    )

    @field_validator("hpa", mode="before")
    @classmethod
    def _hpa_over_seed(cls, value):
        return over_seed(GATEWAY_HPA_SEED, value)


class WorkloadsConfig(Section):
    """Odoo and the API gateway: images, sizes, the seed's HPAs."""

    metrics_port: int = Field(9100, ge=1024, le=65535, description="Port of the apps' Prometheus metrics.")
    odoo: OdooConfig = Field(description="Odoo web and bus.")
    gateway: GatewayConfig = Field(description="The FastAPI API gateway.")
