"""The edge: CloudFront, its certificate, web ACL and buckets."""
