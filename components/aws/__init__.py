"""AWS building blocks shared by the tiers: KMS keys, IAM documents, security groups."""
