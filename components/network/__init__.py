"""Network: VPC, subnet tiers, NAT, flow logs, endpoints, subnet groups."""
