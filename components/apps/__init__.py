"""What runs on the cluster: Odoo, the API gateway, PgBouncer, metrics, ingress, network policies."""
