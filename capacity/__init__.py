"""Capacity model and HPA scale-out simulation for the seed's claims (10,000 users at p95 < 300 ms,
2x in under 5 minutes, survives an AZ). Pure Python: no Pulumi, no cloud; `tools/capacity.py`
feeds it a stack's validated config and prints the figures the capacity policies check."""
