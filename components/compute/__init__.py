"""EKS, node autoscaling (Karpenter), the load balancer controller, cluster storage."""
