"""The cluster's block storage class: encrypted gp3 volumes through the EBS CSI driver.

EKS has shipped no default StorageClass since Kubernetes 1.30, so a PVC without a class stays
Pending forever (Prometheus first among them, and with it every Pods/External HPA metric).
Claims name this class explicitly; it is not marked default, so a chart that forgets to ask for
storage fails visibly instead of landing on whatever the default happens to be.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


@dataclass(frozen=True)
class BlockStorageClassArgs:
    #: The class's name, as claims reference it.
    class_name: str
    #: EBS volume type (gp3: 3,000 IOPS / 125 MB/s baseline whatever the size).
    volume_type: str = "gp3"
    #: Delete removes the EBS volume with its claim; Retain keeps it for manual recovery.
    reclaim_policy: str = "Delete"


class BlockStorageClass(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:storage_class:BlockStorageClass"

    def __init__(self, name: str, args: BlockStorageClassArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        storage_class = k8s.storage.v1.StorageClass(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.class_name),
            provisioner=EBS_CSI_PROVISIONER,
            # Encrypted with the account's aws/ebs key: a customer key would need KMS grants the
            # driver's managed policy (AmazonEBSCSIDriverPolicy) does not carry.
            parameters={"type": args.volume_type, "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            # Bind in the zone the pod is scheduled to: an EBS volume cannot follow a pod across AZs.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=args.reclaim_policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.class_name = storage_class.metadata.name
        self.register_outputs({"className": self.class_name})
