"""Kubernetes building blocks shared by the apps: the Workload component, pod specs, HPAs."""
