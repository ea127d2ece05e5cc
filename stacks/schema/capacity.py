"""What the stack must carry: the seed's capacity claims, checked by the capacity policies
against the model and simulation (capacity/, `make capacity`)."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.settings import Section


class CapacityConfig(Section):
    """Capacity targets. Defaults: the seed's 10,000 users and 2x in under 5 minutes."""

    target_users: int = Field(10000, ge=1, le=10_000_000, description="Concurrent users (the seed: 10,000).")
    headroom: float = Field(
        0.2, ge=0, le=10, description="Spare capacity demanded at targetUsers: 0.2 means 1.2 x targetUsers fit."
    )
    scale_out_s: int = Field(
        300, ge=30, le=3600, description="A 2x load step (half the target to the target) is served within this."
    )
    az_loss_residual: float = Field(
        0.66, ge=0, le=1, description="Share of the users carried in the first minutes after losing one zone."
    )
    spike_from_users: int = Field(
        1000, ge=0, le=10_000_000, description="The spike scenario's users before the step (the seed: 1,000)."
    )
    spike_to_users: int = Field(
        5000, ge=1, le=10_000_000, description="Users the spike reaches within spikeRampS (the seed: 5,000)."
    )
    spike_ramp_s: int = Field(30, ge=0, le=3600, description="Seconds the spike takes (the seed: 30).")
    spike_served_s: int = Field(
        120, ge=1, le=3600, description="The spike is served within this when nodes have room (seconds)."
    )
    spike_served_with_launches_s: int = Field(
        180, ge=1, le=3600, description="The spike is served within this when nodes must be launched (seconds)."
    )

    @model_validator(mode="after")
    def _spike_rises(self) -> CapacityConfig:
        if self.spike_to_users <= self.spike_from_users:
            raise ValueError(
                f"spikeToUsers ({self.spike_to_users}) must be above spikeFromUsers ({self.spike_from_users})"
            )
        return self
