"""The kwok nodes that model a stack's pools: the system group at its maximum, each NodePool
filled to its CPU limit, labels and taints as real nodes carry them, allocatable as EKS's
bootstrap reserves it."""

from __future__ import annotations

from tools.cluster_nodes import TYPES, karpenter_pool, nodes, system_pool


def test_allocatable_is_capacity_minus_what_eks_reserves():
    # 16 vCPU: 60 + 10 + 5 + 5 + 12 x 2.5 = 110 millicores; memory 255 + 11 x 205 + 100 MiB.
    assert TYPES["m7i.4xlarge"].allocatable() == {
        "cpu": "15890m",
        "memory": f"{65536 - 255 - 11 * 205 - 100}Mi",
        "pods": "205",
        "ephemeral-storage": "95Gi",
    }
    assert TYPES["m7i.large"].allocatable()["cpu"] == "1930m"


def test_a_nodepool_fills_its_cpu_limit_with_its_labels_over_the_zones():
    nodepool = {
        "metadata": {"name": "burst"},
        "spec": {
            "limits": {"cpu": "200"},
            "template": {
                "metadata": {"labels": {"node-role.smartdairy.io/elastic": "true"}},
                "spec": {
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
                        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["c", "m"]},
                    ],
                    "taints": [{"key": "burst", "value": "true", "effect": "NoSchedule"}],
                },
            },
        },
    }
    pool = karpenter_pool(nodepool)
    assert (pool.instance.name, pool.count, pool.capacity_type) == ("c7i.4xlarge", 12, "spot")  # 200 // 16
    made = nodes([pool], ["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    assert len(made) == 12
    assert [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in made[:4]] == [
        "eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a"
    ]  # fmt: skip
    first = made[0]
    assert first["metadata"]["labels"]["node-role.smartdairy.io/elastic"] == "true"
    assert first["metadata"]["labels"]["karpenter.sh/nodepool"] == "burst"
    assert first["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert first["spec"]["taints"] == [{"key": "burst", "value": "true", "effect": "NoSchedule"}]


def test_the_system_group_carries_its_taint_in_kubernetes_spelling():
    [node] = nodes([system_pool(["m7i.large"], 1)], ["eu-west-1a"])
    assert node["spec"]["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]
    assert node["metadata"]["labels"]["node-role.smartdairy.io/system"] == "true"
