"""The inventory as a Terraform plan for checkov (tools/tf_plan.py): Terraform's types and
attribute names, blocks as lists, references from the property dependencies, secrets masked."""

from __future__ import annotations

import json

import pytest

from tools.tf_plan import attributes, plan, skips, tf_type


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:ec2/tag:Tag", "aws_ec2_tag"),
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws_s3_bucket_server_side_encryption_configuration",
        ),
        ("aws:secretsmanager/secretRotation:SecretRotation", "aws_secretsmanager_secret_rotation"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
    ],
)
def test_terraform_types(token, expected):
    assert tf_type(token) == expected


def test_blocks_names_and_maps():
    converted = attributes(
        {
            "logPublishingOptions": [{"logType": "AUDIT_LOGS", "enabled": True}],
            "parameters": [{"name": "max_connections", "value": "100"}],
            "vpcConfig": {"subnetIds": ["a"]},
            "tags": {"Environment": "prod"},
        }
    )
    assert converted == {
        "log_publishing_options": [{"log_type": "AUDIT_LOGS", "enabled": True}],
        "parameter": [{"name": "max_connections", "value": "100"}],
        "vpc_config": [{"subnet_ids": ["a"]}],
        "tags": {"Environment": "prod"},
    }


def test_the_prod_plan_references_each_rotated_secret_and_masks_every_secret(prod):
    resources = [r.to_json() for r in prod.resources]
    result = plan(resources)
    rotations = [
        r
        for r in result["configuration"]["root_module"]["resources"]
        if r["type"] == "aws_secretsmanager_secret_rotation"
    ]
    assert len(rotations) == 7
    for rotation in rotations:
        assert any(
            ref.startswith("aws_secretsmanager_secret.") for ref in rotation["expressions"]["secret_id"]["references"]
        )
    text = json.dumps(result)
    password = prod.named("sd-prod-db-master-password").state["result"]
    assert password not in text and "[secret]" in text


def test_staging_skips_more_than_prod_and_says_why():
    assert set(skips("prod")) < set(skips("staging"))
    assert {"CKV_AWS_293", "CKV_AWS_338"} <= set(skips("staging")) - set(skips("prod"))
