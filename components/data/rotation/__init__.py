"""The Secrets Manager rotation function of the PostgreSQL credentials (packaged as a Lambda by
components/data/credential_rotation.py): boto3 and pg8000 only, no Pulumi."""
