"""Keys and logs (#24): every KMS key has an explicit policy that names its administrator and
gives services only what they use, for our account; every log group is encrypted with a key
whose policy admits CloudWatch Logs for that group alone; prod's audit trails and the keys of
snapshots and backups outlive a `destroy`."""

from __future__ import annotations

import fnmatch
import json

import pytest

from synth.mock_runtime import ProgramRun
from tests.conftest import load_config, stack_file_config
from tests.harness.checks import nonempty

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCOUNT = "123456789012"


def statements(key) -> list[dict]:
    return json.loads(key.inputs["policy"])["Statement"]


def key_by_arn(run: ProgramRun, arn: str):
    """The registered key a mock ARN names (`arn:aws:kms:<region>:<account>:<resource name>`)."""
    return run.named(arn.rsplit(":", 1)[-1], KEY)


def test_every_key_has_an_explicit_policy_no_broader_than_the_account(run):
    deploy_role = load_config(stack_file_config(run.stack)).delivery.deploy_role_arn
    for key in nonempty(run.of_type(KEY)):
        root, admin, *services = statements(key)
        assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and root["Action"] == ["kms:*"], key.name
        assert admin["Sid"] == "KeyAdministration" and admin["Principal"] == root["Principal"]
        assert admin["Condition"] == {"ArnLike": {"aws:PrincipalArn": [deploy_role]}}
        assert not any(
            action.startswith(("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")) for action in admin["Action"]
        )
        for service in services:
            if service.get("Sid") == "SignTokens":  # the gateway's role signs with its token key
                assert service["Principal"]["AWS"].startswith(f"arn:aws:iam::{ACCOUNT}:role/"), key.name
                assert service["Action"] == ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
                continue
            assert set(service["Principal"]) == {"Service"}, (key.name, service)
            # Held to our account: by aws:SourceAccount, or by an encryption context that names
            # our resources (CloudWatch Logs: the log group's ARN, account included).
            scope = service["Condition"].get("StringEquals", {}).get("aws:SourceAccount") or next(
                iter(service["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
            )
            assert ACCOUNT in str(scope), (key.name, service)
            assert "kms:*" not in service["Action"]


def log_group_name(group) -> str:
    """The group's name in AWS: given, or Pulumi's auto-name (resource name, dash, 7 characters)."""
    return group.inputs.get("name") or f"{group.name}-a1b2c3d"


def test_every_log_group_is_encrypted_with_a_key_that_admits_logs_for_it_alone(run):
    for group in nonempty(run.of_type(LOG_GROUP)):
        key = key_by_arn(run, group.inputs["kmsKeyId"])
        region = run.provider_of(group).inputs["region"]
        [logs] = [s for s in statements(key) if s["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}]
        patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{log_group_name(group)}"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns), (group.name, patterns)
        assert all("log-group:*" not in pattern for pattern in patterns), patterns
        others = [g for g in run.of_type(LOG_GROUP) if g.inputs["kmsKeyId"] != group.inputs["kmsKeyId"]]
        strangers = [
            g.name
            for g in others
            if any(
                fnmatch.fnmatchcase(f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{log_group_name(g)}", p)
                for p in patterns
            )
        ]
        assert strangers == [], f"{key.name} admits logs of {strangers}"


#: Prod's audit trails: who did what to the cluster, at the edge, in the network, in search.
AUDIT_TRAILS = ("sd-prod-control-plane", "sd-prod-cdn-waf-logs", "sd-prod-ingress-origin-guard-logs",
                "sd-prod-flow-logs", "sd-prod-search-audit-logs")  # fmt: skip


def test_prod_audit_trails_are_protected(prod):
    assert {name: prod.named(name, LOG_GROUP).protect for name in AUDIT_TRAILS} == dict.fromkeys(AUDIT_TRAILS, True)


@pytest.mark.parametrize("key", ["sd-prod-db-key", "sd-prod-redis-sessions-key", "sd-prod-redis-cache-key"])
def test_keys_of_snapshots_and_backups_outlive_destroy(prod, key):
    assert prod.named(key, KEY).retain_on_delete


def test_prod_keeps_automated_backups_after_a_delete(prod, staging):
    primary = {
        run.stack: run.named(f"sd-{run.stack}-db-primary", "aws:rds/instance:Instance") for run in (prod, staging)
    }
    assert primary["prod"].inputs["deleteAutomatedBackups"] is False
    assert primary["staging"].inputs["deleteAutomatedBackups"] is True


def service_statements(document: str) -> list[dict]:
    return [s for s in json.loads(document)["Statement"] if "Service" in (s.get("Principal") or {})]


#: The confused-deputy condition keys (case-insensitive, as IAM reads them); on a KMS key, an
#: encryption context naming our resources holds CloudWatch Logs to them.
SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "kms:encryptioncontext:aws:logs:arn"}


def condition_keys(statement: dict) -> set[str]:
    return {key.lower() for block in statement.get("Condition", {}).values() for key in block}


def test_service_principals_are_held_to_the_account(prod):
    """Confused deputies: a service acting for another account cannot use our roles, queue or
    buckets. EC2, EKS, Lambda@Edge and Pod Identity trusts are the exceptions AWS documents
    (those services do not send the source keys)."""
    exempt = {"ec2.amazonaws.com", "eks.amazonaws.com", "pods.eks.amazonaws.com", "edgelambda.amazonaws.com",
              "lambda.amazonaws.com",
              # ELB's log delivery documents no source condition; its writes are confined to
              # this account's prefix instead (test_the_alb_logs_its_access_*).
              "logdelivery.elasticloadbalancing.amazonaws.com",
              # CloudFront's real-time logs role: AWS documents its trust without one; a real-time
              # log config names the role through iam:PassRole in our account, and the role can
              # only write this stack's sample stream (tests/test_cache_hits.py).
              "cloudfront.amazonaws.com"}  # fmt: skip
    documents = [
        *(r.inputs["assumeRolePolicy"] for r in prod.of_type("aws:iam/role:Role")),
        *(r.inputs["policy"] for r in prod.of_type("aws:sqs/queuePolicy:QueuePolicy")),
        *(r.inputs["policy"] for r in prod.of_type("aws:s3/bucketPolicy:BucketPolicy")),
        *(r.inputs["policy"] for r in prod.of_type(KEY)),
    ]
    unscoped = [
        principal
        for document in nonempty(documents)
        for statement in service_statements(document)
        for principal in (
            statement["Principal"]["Service"]
            if isinstance(statement["Principal"]["Service"], list)
            else [statement["Principal"]["Service"]]
        )
        if principal not in exempt and not SOURCE_KEYS & condition_keys(statement)
    ]
    assert unscoped == []


def test_the_alb_logs_its_access_and_prod_cannot_delete_it(run):
    """ALB access logs go to the stack's own bucket (SSE-S3, the only encryption ELB writes
    to), which only ELB's log delivery may write, under this account's prefix."""
    [ingress] = run.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    attributes = dict(
        item.split("=", 1)
        for item in ingress.inputs["metadata"]["annotations"][
            "alb.ingress.kubernetes.io/load-balancer-attributes"
        ].split(",")
    )
    bucket = run.named(f"sd-{run.stack}-ingress-alb-logs", "aws:s3/bucket:Bucket")
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == bucket.state["bucket"]
    assert attributes["deletion_protection.enabled"] == ("true" if run.stack == "prod" else "false")
    policy = json.loads(run.named(f"sd-{run.stack}-ingress-alb-logs-policy").inputs["policy"])
    writers = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {s["Resource"] for s in writers} == {f"arn:aws:s3:::{bucket.state['bucket']}/alb/AWSLogs/{ACCOUNT}/*"}
    encryption = run.named(f"sd-{run.stack}-ingress-alb-logs-encryption").inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
