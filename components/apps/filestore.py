"""The Odoo filestore on EFS, mounted ReadWriteMany by every Odoo pod in every zone.

Several Odoo pods need one filestore; a ReadWriteOnce EBS volume would pin Odoo to one pod and
one zone and block scale-out. EFS over S3-backed attachments: Odoo's filestore expects POSIX
semantics (atomic renames, its garbage collector walking directories), EFS gives them to stock
Odoo without an extra attachment-storage addon in the image, and it spans the three AZs. The
S3 route (an object-storage addon) is cheaper per GB and worth revisiting when the filestore
grows past a few hundred GB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.kms import KeyAccess, component_key
from components.aws.security_group import port_from_groups
from components.k8s.pod_spec import RUN_AS_UID

NFS_PORT = 2049


@dataclass(frozen=True)
class SharedFilesystemArgs:
    #: The VPC, the private subnets to mount from, and who may reach NFS.
    vpc_id: pulumi.Input[str]
    #: The private subnets the filesystem gets a mount target in.
    subnet_ids: Sequence[pulumi.Input[str]]
    #: Who may reach NFS: name -> security group id.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    #: Namespace and name of the ReadWriteMany claim.
    namespace: pulumi.Input[str]
    #: Name of the ReadWriteMany claim.
    claim_name: str
    #: Requested size, GiB (EFS grows as needed; the claim needs a number).
    claim_size_gb: int
    #: Who administers the key (the deploy role), in which account.
    key_access: KeyAccess
    #: Pulumi `protect` on the file system.
    protect: bool = False


class SharedFilesystem(pulumi.ComponentResource):
    #: Pulumi type token: in every child URN, so it stays put when the file moves.
    TYPE_TOKEN = "smartdairy:shared_filesystem:SharedFilesystem"

    def __init__(self, name: str, args: SharedFilesystemArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = component_key(f"{name}-key", "EFS filestore encryption", self, args.protect, args.key_access)
        group = port_from_groups(
            f"{name}-sg", args.vpc_id, NFS_PORT, args.client_security_groups, "NFS from nodes", self
        )
        filesystem = aws.efs.FileSystem(
            name,
            encrypted=True,
            kms_key_id=key.arn,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS")],
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.efs.BackupPolicy(
            f"{name}-backup",
            file_system_id=filesystem.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
            opts=child,
        )
        targets = [
            aws.efs.MountTarget(
                f"{name}-mount-{index}",
                file_system_id=filesystem.id,
                subnet_id=subnet,
                security_groups=[group.id],
                opts=child,
            )
            for index, subnet in enumerate(args.subnet_ids)
        ]
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="efs-filestore"),
            provisioner="efs.csi.aws.com",
            parameters={
                "provisioningMode": "efs-ap",
                "fileSystemId": filesystem.id,
                "directoryPerms": "700",
                "uid": str(RUN_AS_UID),
                "gid": str(RUN_AS_UID),
                "basePath": "/filestore",
            },
            reclaim_policy="Retain",
            volume_binding_mode="Immediate",
            opts=pulumi.ResourceOptions(parent=self, depends_on=targets),
        )
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.claim_name, namespace=args.namespace),
            spec={
                "accessModes": ["ReadWriteMany"],
                "storageClassName": storage_class.metadata.name,
                "resources": {"requests": {"storage": f"{args.claim_size_gb}Gi"}},
            },
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.file_system_id = filesystem.id
        self.claim_name = claim.metadata.name
        self.register_outputs({"fileSystemId": self.file_system_id, "claimName": self.claim_name})
