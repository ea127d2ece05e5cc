"""What the stack may cost: the monthly ceiling the cost-ceiling policy holds the estimate to
(`make cost`), which is also the AWS Budget's limit, and the anomaly alert's threshold."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from components.settings import Section


class CostConfig(Section):
    """Budget, ceiling and anomaly alerts. The ceiling has no default: each stack states its own."""

    monthly_ceiling_usd: float = Field(
        gt=0,
        le=10_000_000,
        description="USD a month the stack may cost: its AWS Budget's limit, and the most the estimate at every "
        "limit reached (`make cost`, max) may reach (the cost-ceiling policy).",
    )
    warn_at_percent: list[int] = Field(
        [80], min_length=1, max_length=5, description="Actual spend at these % of the ceiling mails the warnings topic."
    )
    forecast_at_percent: int = Field(
        100, ge=1, le=1000, description="Forecast spend at this % of the ceiling mails the warnings topic."
    )
    page_at_percent: int = Field(100, ge=1, le=1000, description="Actual spend at this % of the ceiling pages.")
    anomaly_threshold_usd: float = Field(
        100,
        gt=0,
        le=1_000_000,
        description="Cost Anomaly Detection alerts (warnings topic) on anomalies whose total impact reaches this, USD.",
    )

    @field_validator("warn_at_percent")
    @classmethod
    def _percentages(cls, values: list[int]) -> list[int]:
        bad = [v for v in values if not 1 <= v <= 1000]
        if bad:
            raise ValueError(f"{bad}: each must be between 1 and 1000")
        if len(set(values)) != len(values):
            raise ValueError("repeats a percentage")
        return sorted(values)

    @model_validator(mode="after")
    def _one_notification_per_threshold(self) -> CostConfig:
        """AWS refuses two identical notifications: paging at a warning's percentage would be one."""
        if self.page_at_percent in self.warn_at_percent:
            raise ValueError(
                f"pageAtPercent {self.page_at_percent} is also in warnAtPercent: each threshold notifies once"
            )
        return self
