"""Observability: SLO rules, dashboards, alarms, alert routing."""
