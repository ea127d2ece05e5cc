"""Config of the VPC network."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.network.subnet_plan import SubnetPlanError, SubnetPrefixes, plan_subnets
from components.settings import LogRetentionDays, Section


class NetworkConfig(Section):
    """The VPC: three subnet tiers across `azCount` zones, NAT, flow logs."""

    cidr: str = Field(description="IPv4 VPC range, RFC 1918, /16 to /24.")
    az_count: int = Field(3, ge=2, le=6, description="Availability zones to span (RDS and EKS need 2+).")
    az_slots: int = Field(4, ge=2, le=8, description="AZs each tier reserves room for, so adding one never renumbers.")
    nat_gateways: Literal["single", "per-az"] = Field(
        description="'per-az' survives an AZ outage; 'single' saves ~2 NAT gateway-hours per hour."
    )
    subnet_prefixes: SubnetPrefixes = Field(
        SubnetPrefixes.model_validate({}), description="Prefix length of each tier's per-AZ subnets."
    )
    flow_log_retention_days: LogRetentionDays = Field(
        90, description="VPC flow log retention; only the values CloudWatch Logs accepts."
    )
    flow_log_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = Field(
        "ALL", description="Which flows to log; ALL keeps accepted flows for incident forensics."
    )

    @field_validator("cidr")
    @classmethod
    def _private_vpc_range(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 network in CIDR notation ({exc})") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError("must be a /16 to /24 (AWS VPC limits, leaving room for subnets)")
        if not network.is_private:
            raise ValueError("must be a private (RFC 1918) range, e.g. 10.20.0.0/16")
        return str(network)

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkConfig:
        if self.az_slots < self.az_count:
            raise ValueError(f"azSlots ({self.az_slots}) must be >= azCount ({self.az_count})")
        try:
            self.subnet_plan()
        except SubnetPlanError as exc:
            raise ValueError(
                f"subnetPrefixes x azSlots ({self.az_slots}) do not fit in cidr {self.cidr}: {exc}; "
                "use a larger cidr, longer prefixes or fewer azSlots"
            ) from None
        return self

    def subnet_plan(self):
        return plan_subnets(self.cidr, self.az_count, self.subnet_prefixes.model_dump(), az_slots=self.az_slots)
