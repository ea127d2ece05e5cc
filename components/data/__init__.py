"""The data tier: RDS PostgreSQL, ElastiCache, and the settings and URLs they render."""
