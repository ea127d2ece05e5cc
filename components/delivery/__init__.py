"""Delivery: what lets a team preview and deploy the platform from GitHub Actions, created once
per AWS account by `bootstrap/`: the state bucket, one identity per environment (secrets key,
permissions boundary, deploy and preview roles) and one CodeBuild-hosted runner per environment,
whose VPC the platform stack peers with to reach its private Kubernetes API."""
