"""The function that applies the OpenSearch domain's security roles and role mappings (packaged
as a Lambda by components/data/search.py): stdlib and botocore only."""
