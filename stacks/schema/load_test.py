"""Config of the in-cluster load test: the seed's k6 scenarios (components/apps/loadtest/) run by the
k6-operator against the stack's public URL, results into Prometheus."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.k8s.pod_spec import ContainerResources
from components.settings import PinnedImage, Section

Scenario = Literal["ramp_up", "spike_test", "soak_test"]


class LoadTestConfig(Section):
    """Off unless enabled. A run starts when the TestRun is created: change runId to run again."""

    enabled: bool = Field(False, description="Install the k6-operator and create the TestRun.")
    run_id: str = Field(
        "1", pattern=r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$", description="Names the run; a new value starts a new run."
    )
    operator_chart_version: str = Field(
        "4.6.0", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="k6-operator chart version (operator v1.6.0)."
    )
    runner_image: PinnedImage = Field(
        "ghcr.io/grafana/k6-operator:runner-v1.6.0",
        description="k6 runner image (the operator's, built on grafana/k6 2.2.0), pinned tag.",
    )
    starter_image: PinnedImage = Field(
        "ghcr.io/grafana/k6-operator:starter-v1.6.0", description="Starter image, pinned tag."
    )
    parallelism: int = Field(
        10, ge=1, le=200, description="k6 pods sharing the virtual users (about 1,000 VUs per pod)."
    )
    scenarios: list[Scenario] = Field(
        [], description="Subset of ramp_up, spike_test, soak_test, each started at once; empty: the seed's schedule."
    )
    base_url: str | None = Field(
        None, pattern=r"^https://\S+$", description="What the load test calls; unset: https://<cdn.domain>."
    )
    resources: ContainerResources = Field(
        ContainerResources.model_validate(
            {"cpuRequest": "1", "cpuLimit": "2", "memoryRequest": "1Gi", "memoryLimit": "2Gi"}
        ),
        description="Requests and limits of one k6 pod.",
    )
    seed_workers: int = Field(
        4,
        ge=1,
        le=32,
        description="Parallel calls of the seeding Job; each holds one Odoo worker while it hashes passwords.",
    )
