"""Security hardening (#14), as registered: the origin admits only our CloudFront, the WAFs log
without credentials, rate-limit windows live where nothing evicts them, backups last a week."""

from __future__ import annotations

import json
import sys
from datetime import date
from urllib.parse import urlparse

import yaml

from components.data.rds_trust import BUNDLE_KEY, ca_bundle
from components.edge.cdn import PORTAL_ALB_PATHS
from components.edge.not_found import handler as not_found_handler
from components.edge.origin_guard import ROOT_KEY_ACCEPTED_UNTIL
from synth.mock_runtime import SECRET_MARKER, ProgramRun, run_program
from tests.conftest import PROJECT, ROOT, program_run, section, section_problems, with_section

sys.path.insert(0, str(ROOT / "policies"))
from registry import strings_in  # the pack's walker over property values

from tests.harness.checks import nonempty
from tests.harness.cloudfront import behavior_for

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def ingress(run: ProgramRun):
    return run.one(INGRESS)


def guard(run: ProgramRun):
    return next(a for a in run.of_type("aws:wafv2/webAcl:WebAcl") if a.inputs["scope"] == "REGIONAL")


def api_origin(run: ProgramRun) -> dict:
    distribution = run.named(f"sd-{run.stack}-cdn", "aws:cloudfront/distribution:Distribution")
    return next(o for o in distribution.plain_inputs["origins"] if o["originId"] == "APIOrigin")


def test_the_alb_admits_only_cloudfronts_origin_facing_addresses(run):
    annotations = ingress(run).inputs["metadata"]["annotations"]
    group_id = annotations["alb.ingress.kubernetes.io/security-groups"]
    # The mock engine's IDs are "<name>-id".
    group = next(g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup") if f"{g.name}-id" == group_id)
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == group_id
    ]
    assert [(r.inputs["prefixListId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules] == [
        ("pl-4fa04526", 443, 443)
    ]
    assert not any("cidrIpv4" in r.inputs for r in rules)
    [egress] = [
        r
        for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == group_id
    ]
    assert egress.inputs["cidrIpv4"] == section(run.stack, "network")["cidr"]
    assert group.inputs["vpcId"] == f"sd-{run.stack}-vpc-id"


def accepted_headers(run: ProgramRun) -> list[str]:
    """The origin header values the ALB's web ACL lets in, checked to be exact header matches."""
    [rule] = guard(run).plain_inputs["rules"]
    assert rule["action"] == {"allow": {}}
    matches = [statement["byteMatchStatement"] for statement in rule["statement"]["orStatement"]["statements"]]
    for match in matches:
        assert match["positionalConstraint"] == "EXACTLY"
        assert match["fieldToMatch"] == {"singleHeader": {"name": "x-origin-verify"}}
    return [match["searchString"] for match in matches]


def sent_header(run: ProgramRun) -> str:
    [header] = api_origin(run)["customHeaders"]
    assert header["name"] == "X-Origin-Verify"
    return header["value"]


def test_only_requests_with_cloudfronts_secret_header_pass_the_alb(run):
    acl = guard(run)
    assert ingress(run).inputs["metadata"]["annotations"]["alb.ingress.kubernetes.io/wafv2-acl-arn"] == acl.state["arn"]
    assert acl.inputs["defaultAction"] == {"block": {}}
    assert acl.inputs["rules"] == SECRET_MARKER  # the header values are inside
    current, previous, *legacy = accepted_headers(run)
    assert sent_header(run) == current != previous and len(current) == 64
    # Until the transition ends, the root key CloudFront sent before the rotation is let in too.
    assert len(legacy) == (1 if date.today() < ROOT_KEY_ACCEPTED_UNTIL else 0)


def test_the_origin_secret_rotates_when_its_version_is_bumped(staging):
    config = with_section("staging", f"{PROJECT}:cdn", section("staging", "cdn") | {"originSecretVersion": "2"})
    rotated = run_program("staging", config=config)
    assert sent_header(staging) != sent_header(rotated) == accepted_headers(rotated)[0]
    assert not set(accepted_headers(staging)) & set(accepted_headers(rotated))  # a re-key shares nothing


def test_the_origin_header_rotates_each_period_without_refusing_an_edge(monkeypatch):
    """Across a period boundary, the value CloudFront's edges still send is accepted by the new
    web ACL, while the new value is what the distribution is updated to send."""
    from datetime import date, timedelta

    from stacks import applications

    cadence = section("staging", "cdn").get("originSecretRotationDays", 30)
    first_day = date.fromordinal((date(2026, 11, 30).toordinal() // cadence + 1) * cadence)
    runs = []
    for day in (first_day - timedelta(days=1), first_day):
        monkeypatch.setattr(applications, "today", lambda day=day: day)
        runs.append(run_program("staging"))
    before, after = runs
    assert sent_header(before) != sent_header(after)
    assert sent_header(before) in accepted_headers(after) and sent_header(after) in accepted_headers(after)
    assert accepted_headers(before)[0] == accepted_headers(after)[1]


def test_after_the_transition_only_the_two_periods_pass(monkeypatch):
    from stacks import applications

    monkeypatch.setattr(applications, "today", lambda: ROOT_KEY_ACCEPTED_UNTIL)
    assert len(accepted_headers(run_program("staging"))) == 2


def test_a_rotation_cadence_of_zero_is_one_line_naming_the_key():
    [problem] = section_problems("staging", "cdn", originSecretRotationDays=0)
    assert problem.startswith(f"{PROJECT}:cdn.originSecretRotationDays = 0: Input should be greater than or equal to 1")


def test_everything_the_alb_serves_has_a_cloudfront_path(run):
    """Odoo's host sends every path to the ALB; the portal's only the API's."""
    distributions = {d.name: d.inputs for d in run.of_type("aws:cloudfront/distribution:Distribution")}
    portal, odoo = distributions[f"sd-{run.stack}-cdn"], distributions[f"sd-{run.stack}-cdn-odoo"]
    to_alb = {b["pathPattern"] for b in portal["orderedCacheBehaviors"] if b["targetOriginId"] == "APIOrigin"}
    assert to_alb == set(PORTAL_ALB_PATHS)
    routes = {p["path"] for rule in ingress(run).inputs["spec"]["rules"] for p in rule["http"]["paths"]}
    for path in routes:
        assert behavior_for(odoo, path)["targetOriginId"] == "APIOrigin", path
    assert behavior_for(portal, "/api/v1/products")["targetOriginId"] == "APIOrigin"


def test_both_web_acls_log_without_credentials(run):
    configs = run.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    acls = {a.state["arn"]: a for a in run.of_type("aws:wafv2/webAcl:WebAcl")}
    assert {c.inputs["resourceArn"] for c in configs} == set(acls)
    groups = {g.state["arn"]: g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for config in configs:
        [destination] = config.inputs["logDestinationConfigs"]
        assert groups[destination].inputs["name"].startswith("aws-waf-logs-")
        region = run.provider_of(groups[destination]).inputs["region"]
        assert region == run.provider_of(acls[config.inputs["resourceArn"]]).inputs["region"]
        assert config.inputs["redactedFields"] == [
            {"singleHeader": {"name": "authorization"}},
            {"singleHeader": {"name": "cookie"}},
        ]


def provider_objects(run, name: str) -> list[dict]:
    """The secrets a SecretProviderClass mounts, parsed."""
    [spc] = [
        c
        for c in run.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
        if c.inputs["metadata"]["name"] == name
    ]
    return yaml.safe_load(spc.inputs["spec"]["parameters"]["objects"])


def first_value(run, secret_name: str) -> dict:
    """What the program wrote into a rotated secret (no password)."""
    version = run.named(secret_name, "aws:secretsmanager/secretVersion:SecretVersion")
    return json.loads(version.plain_inputs["secretString"])


def test_rate_limit_windows_live_in_the_sessions_group(prod):
    """The gateway's rate-limit user is the sessions group's; its cache user is the cache group's."""
    objects = {o["objectName"]: o for o in provider_objects(prod, "api-gateway-aws")}
    groups = {g.name.rsplit("-", 1)[-1]: g for g in prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup")}
    for secret, role, file in (
        ("sd-prod-redis-sessions-gateway-ratelimit-secret", "sessions", "rate_limit_redis_url"),
        ("sd-prod-redis-cache-gateway-cache-secret", "cache", "redis_url"),
    ):
        arn = prod.named(secret, "aws:secretsmanager/secret:Secret").state["arn"]
        assert objects[arn]["jmesPath"] == [{"path": "url", "objectAlias": file}]
        assert first_value(prod, secret)["host"] == groups[role].state["primaryEndpointAddress"]


def test_every_stack_keeps_backups_a_week():
    for stack in ("staging", "prod"):
        primary = next(r for r in program_run(stack).of_type("aws:rds/instance:Instance") if r.name.endswith("primary"))
        assert primary.inputs["backupRetentionPeriod"] >= 7, stack
    assert json.loads(program_run("staging").config[f"{PROJECT}:database"])["backupRetentionDays"] >= 7


def test_a_digest_pinned_image_is_accepted_and_pulled_once(prod):
    digest = "@sha256:" + "0" * 64  # a test value: the stacks keep tags until a release pins digests
    workloads = section("prod", "workloads")
    image = workloads["gateway"]["image"] + digest
    config = with_section(
        "prod", f"{PROJECT}:workloads", workloads | {"gateway": workloads["gateway"] | {"image": image}}
    )
    pinned = run_program("prod", config=config)

    def gateway(run):
        deployment = next(
            d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "api-gateway"
        )
        return deployment.inputs["spec"]["template"]["spec"]["containers"][0]

    assert gateway(pinned)["image"] == image and gateway(pinned)["imagePullPolicy"] == "IfNotPresent"
    # A tag can be moved to another image: every start asks the registry.
    assert gateway(prod)["imagePullPolicy"] == "Always"


def test_every_container_states_its_pull_policy(run):
    for deployment in nonempty(run.of_type("kubernetes:apps/v1:Deployment")):
        pod = deployment.inputs["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            expected = "IfNotPresent" if "@sha256:" in container["image"] else "Always"
            assert container["imagePullPolicy"] == expected, container["name"]


def test_the_static_bucket_logs_its_access_to_the_log_bucket(run):
    logging = run.one("aws:s3/bucketLogging:BucketLogging")
    static = run.named(f"sd-{run.stack}-cdn-static", "aws:s3/bucket:Bucket").state["bucket"]
    logs = run.named(f"sd-{run.stack}-cdn-logs", "aws:s3/bucket:Bucket").state
    assert (logging.inputs["bucket"], logging.inputs["targetBucket"]) == (static, logs["bucket"])
    assert logging.inputs["targetPrefix"] == f"s3-access/{static}/"
    policy = json.loads(
        run.named(f"sd-{run.stack}-cdn-logs-policy", "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"]
    )
    [delivery] = [s for s in policy["Statement"] if s.get("Sid") == "S3ServerAccessLogs"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Resource"] == f"{logs['arn']}/s3-access/*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{static}"]},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }


# --- database roles: the master user stays in the bootstrap Job ----------------------------------

JOB = "kubernetes:batch/v1:Job"


def bootstrap_job(run: ProgramRun):
    """The bootstrap Job (the migration Job runs after it, by the same identity)."""
    [job] = [j for j in run.of_type(JOB) if j.name.endswith("db-bootstrap-job")]
    return job


def pod_templates(run: ProgramRun):
    for kind in ("kubernetes:apps/v1:Deployment", JOB):
        for resource in run.of_type(kind):
            yield resource, resource.plain_inputs["spec"]["template"]


def generated_secrets(run: ProgramRun) -> set[str]:
    return {r.state["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")}


def test_no_container_environment_carries_a_secret(run):
    secrets = generated_secrets(run)
    for resource, template in nonempty(pod_templates(run)):
        spec = template["spec"]
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            assert "envFrom" not in container, resource.name
            for variable in container.get("env", []):
                assert "valueFrom" not in variable or "secretKeyRef" not in variable["valueFrom"], resource.name
                value = variable.get("value", "")
                assert not any(secret in value for secret in secrets), (resource.name, variable["name"])
                assert "://" not in value or urlparse(value).password is None, (resource.name, variable["name"])


def test_no_application_connects_as_the_master_user(run):
    """Odoo and the gateway name no database user at all: theirs alternates with each rotation
    and comes, with the password, from the role's secret mounted by the CSI driver."""
    master = section(run.stack, "database").get("masterUsername", "sdadmin")
    conf = next(c for c in run.of_type("kubernetes:core/v1:ConfigMap") if c.name.endswith("odoo-config"))
    for text in conf.inputs["data"].values():
        assert "db_user" not in text and master not in text
    gateway = next(d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name.endswith("api-gateway"))
    env = {e["name"]: e.get("value") for e in gateway.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "DB_USER" not in env and env["DB_HOST"] == "pgbouncer-ro"
    assert env["DB_USER_FILE"] == "/run/secrets/api-gateway-aws/db_user"
    objects = {
        c.inputs["metadata"]["name"]: c.inputs["spec"]["parameters"]["objects"]
        for c in run.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    }
    for provider_class, key in (("odoo-aws", "owner"), ("api-gateway-aws", "reader")):
        assert run.named(f"sd-{run.stack}-db-credentials-{key}").state["arn"] in objects[provider_class]
    master_arn = run.named(f"sd-{run.stack}-db-master").state["arn"]
    assert [name for name, text in objects.items() if master_arn in text] == ["db-bootstrap-master"]


def test_no_kubernetes_object_holds_a_database_password(run):
    """Not even the master's first one: the bootstrap Job mounts the master secret at run time."""
    password = run.named(f"sd-{run.stack}-db-master-password").state["result"]
    holders = [
        r.name
        for r in run.resources
        if r.type.startswith("kubernetes:") and any(password in text for text in strings_in(r.plain_inputs))
    ]
    assert holders == []
    assert not [r for r in run.of_type("kubernetes:core/v1:Secret") if "bootstrap" in r.name]


def test_the_bootstrap_job_runs_the_script_with_nothing_secret_in_its_spec(prod):
    job = bootstrap_job(prod)
    pod = job.plain_inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "db-bootstrap"
    assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["image"].startswith("docker.io/library/postgres:")
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PGUSER"] == "sdadmin" and env["PGPASSFILE"] == "/tmp/pgpass"
    # verify-full against the region's RDS roots, which the script's ConfigMap carries.
    assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == f"/etc/db-bootstrap/{BUNDLE_KEY}"
    [script] = [
        c for c in prod.of_type("kubernetes:core/v1:ConfigMap") if c.inputs["metadata"]["name"] == "db-bootstrap"
    ]
    assert script.inputs["data"][BUNDLE_KEY] == ca_bundle("eu-west-1")
    assert {"name": "script", "mountPath": "/etc/db-bootstrap", "readOnly": True} in container["volumeMounts"]
    assert env["PGHOST"] == prod.named("sd-prod-db-primary").state["address"]
    assert job.secret_paths == []
    [master] = [v for v in pod["volumes"] if v["name"] == "db-bootstrap-master"]
    assert master["csi"]["volumeAttributes"]["secretProviderClass"] == "db-bootstrap-master"


def test_each_identity_reads_exactly_its_own_secrets(run):
    """The bootstrap reads the master secret, PgBouncer the auth_user's, Odoo the owner's and its
    sessions user's, the gateway the reader's, its two Redis users' and its Odoo API key: nothing else, decrypted
    through Secrets Manager only, with the keys of exactly those secrets."""
    prefix = f"sd-{run.stack}"
    expected = {
        "db-bootstrap": [f"{prefix}-db-master"],
        "pgbouncer": [f"{prefix}-db-credentials-auth_user"],
        "odoo": [f"{prefix}-db-credentials-owner", f"{prefix}-redis-sessions-odoo-sessions-secret"],
        "api-gateway": [
            f"{prefix}-db-credentials-reader",
            f"{prefix}-redis-cache-gateway-cache-secret",
            f"{prefix}-redis-sessions-gateway-ratelimit-secret",
            f"{prefix}-odoo-api-key-secret",
        ],
    }
    policies = {p.name: json.loads(p.inputs["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    # The key's Job reads Odoo's credential, and writes the key's secret only.
    read, decrypt, put, encrypt = policies[f"{prefix}-odoo-api-key-identity"]["Statement"]
    key_secret = run.named(f"{prefix}-odoo-api-key-secret", "aws:secretsmanager/secret:Secret").state["arn"]
    owner = run.named(f"{prefix}-db-credentials-owner", "aws:secretsmanager/secret:Secret").state["arn"]
    assert read["Resource"] == [owner] and put["Resource"] == [key_secret]
    assert put["Action"] == ["secretsmanager:PutSecretValue"] and encrypt["Action"] == ["kms:GenerateDataKey"]
    assert encrypt["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")
    for component, secrets in expected.items():
        read, decrypt, *search = policies[f"{prefix}-{component}-identity"]["Statement"]
        assert [s["Resource"][0].split(":domain/")[1] for s in search] == (
            [f"{prefix}-search/*"] if component in ("odoo", "api-gateway") else []
        )
        arns = [run.named(name, "aws:secretsmanager/secret:Secret").state["arn"] for name in secrets]
        assert sorted(read["Resource"]) == sorted(arns)
        assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        assert decrypt["Action"] == ["kms:Decrypt"] and all(k.startswith("arn:aws:kms:") for k in decrypt["Resource"])
        assert decrypt["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")


def test_apps_start_after_the_bootstrap(prod):
    """The Job's name (a digest of its script) is in the pods' annotations: a data dependency,
    so the engine deploys them after the Job has completed."""
    job = bootstrap_job(prod)
    for name in nonempty(
        ("odoo", "odoo-longpolling", "api-gateway", "pgbouncer-rw", "pgbouncer-ro", "pgbouncer-session")
    ):
        deployment = next(
            d for d in prod.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == name
        )
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations["smartdairy.io/db-bootstrap"] == job.inputs["metadata"]["name"]
        assert job.urn in deployment.dependencies


def test_every_database_credential_rotates_after_the_bootstrap(run):
    """The master's and the three roles' secrets, on the configured cadence, the first rotation
    at once (the master's first password dies with it), and only once the Job made the roles."""
    days = json.loads(run.config.get(f"{PROJECT}:credentialRotationDays", "30"))
    job = bootstrap_job(run)
    prefix = f"sd-{run.stack}-db-credentials"
    rotations = [
        r for r in run.of_type("aws:secretsmanager/secretRotation:SecretRotation") if r.name.startswith(prefix)
    ]
    secrets = {f"sd-{run.stack}-db-master", *(f"{prefix}-{key}" for key in ("owner", "reader", "auth_user"))}
    arns = {run.named(name, "aws:secretsmanager/secret:Secret").state["arn"] for name in secrets}
    assert {r.inputs["secretId"] for r in rotations} == arns
    function = run.named(f"sd-{run.stack}-credential-rotation-function")
    for rotation in rotations:
        assert rotation.inputs["rotateImmediately"] is True
        assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": days}
        assert rotation.inputs["rotationLambdaArn"] == function.state["arn"]
        assert job.urn in rotation.dependencies
    assert run.named(f"sd-{run.stack}-db-primary").ignore_changes == ["password"]


# --- the friendly 404: static misses only ---------------------------------------------------------


def origin_response(status: str, body: str = "") -> dict:
    response = {"status": status, "statusDescription": "x", "headers": {}, "body": body}
    return {"Records": [{"cf": {"config": {}, "request": {"uri": "/x"}, "response": response}}]}


def test_a_static_miss_becomes_the_friendly_page_with_a_404_status():
    # Under Origin Access Control, S3 answers 403 for a key that does not exist.
    for status in ("403", "404"):
        page = not_found_handler.handler(origin_response(status), None)
        assert page["status"] == "404" and "<h1>" in page["body"]
        assert page["headers"]["content-type"][0]["value"].startswith("text/html")
    ok = origin_response("200", "body")
    assert not_found_handler.handler(ok, None) is ok["Records"][0]["cf"]["response"]


def test_api_responses_are_never_rewritten(run):
    """The function runs on the S3 behaviours only, and nothing rewrites errors distribution-wide:
    /api/* 404s reach the client as the gateway wrote them."""
    d = run.named(f"sd-{run.stack}-cdn", "aws:cloudfront/distribution:Distribution").plain_inputs
    assert "customErrorResponses" not in d
    function = run.named(f"sd-{run.stack}-cdn-not-found", "aws:lambda/function:Function")
    static = [d["defaultCacheBehavior"], *(b for b in d["orderedCacheBehaviors"] if b["targetOriginId"] != "APIOrigin")]
    for behavior in static:
        assert behavior["lambdaFunctionAssociations"] == [
            {"eventType": "origin-response", "lambdaArn": function.state["qualifiedArn"]}
        ]
    for behavior in d["orderedCacheBehaviors"]:
        if behavior["targetOriginId"] == "APIOrigin":
            assert "lambdaFunctionAssociations" not in behavior, behavior["pathPattern"]
    assert function.state["qualifiedArn"].startswith("arn:aws:lambda:us-east-1:")
    assert function.inputs["publish"] is True and "environment" not in function.inputs
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.name == f"sd-{run.stack}-cdn-not-found-role")
    principals = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
    assert principals == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_data_tier_logs_outlive_no_audit_trail():
    """Redis and OpenSearch logs are kept at least as long as the cluster's audit logs."""
    for stack in ("staging", "prod"):
        audit = section(stack, "cluster")["logRetentionDays"]
        assert section(stack, "cache")["logRetentionDays"] >= audit
        assert section(stack, "search").get("logRetentionDays", 30) >= audit
    [problem] = section_problems("prod", "cache", logRetentionDays=30)
    assert problem.startswith(f"{PROJECT}:cache.logRetentionDays: 30 days is shorter than the stack's audit")
    assert "allowed: 365 days or more" in problem


def test_a_new_revision_reruns_the_job(staging):
    database = section("staging", "database")
    rerun = run_program(
        "staging", config=with_section("staging", f"{PROJECT}:database", database | {"bootstrap": {"revision": "2"}})
    )

    def database_jobs(run):
        return [job for job in run.of_type(JOB) if job.name.startswith("sd-staging-db-bootstrap")]

    for before, after in zip(nonempty(database_jobs(staging)), database_jobs(rerun), strict=True):
        assert before.inputs["metadata"]["name"] != after.inputs["metadata"]["name"]


def test_the_gateway_signs_its_tokens_with_a_kms_key_only_its_role_may_use(run):
    """No token-signing secret exists: an asymmetric key whose policy lets the gateway's role sign."""
    key = run.named(f"sd-{run.stack}-api-gateway-token-key", "aws:kms/key:Key")
    assert (key.inputs["customerMasterKeySpec"], key.inputs["keyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    statements = {s.get("Sid"): s for s in json.loads(key.inputs["policy"])["Statement"]}
    role = run.named(f"sd-{run.stack}-api-gateway-identity", "aws:iam/role:Role").state["arn"]
    assert statements["SignTokens"]["Principal"] == {"AWS": role}
    assert statements["SignTokens"]["Action"] == ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
    gateway = next(d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name.endswith("api-gateway"))
    env = {e["name"]: e.get("value") for e in gateway.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TOKEN_SIGNING_KEY_ARN"] == key.state["arn"] and env["TOKEN_SIGNING_ALGORITHM"] == "ES256"
    assert key.protect is (run.stack == "prod")


def test_the_migration_runs_after_the_bootstrap_outside_a_transaction(prod):
    """CREATE INDEX CONCURRENTLY refuses a transaction: psql without --single-transaction, as the
    bootstrap's identity, selected by its egress policy, after its Job."""
    job = bootstrap_job(prod)
    [migration] = [j for j in prod.of_type(JOB) if j.name.endswith("db-bootstrap-migration")]
    pod = migration.plain_inputs["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["name"] == "migrate" and "--single-transaction" not in container["command"][-1]
    assert container["command"][-1].endswith("psql -X -v ON_ERROR_STOP=1 -f /etc/db-bootstrap/migrate.sql")
    assert pod["serviceAccountName"] == "db-bootstrap" and job.urn in migration.dependencies
    assert migration.inputs["metadata"]["name"].startswith("db-migrate-")
    assert migration.inputs["spec"]["activeDeadlineSeconds"] == 3600 and migration.create_timeout == "65m"
    [egress] = [
        p
        for p in prod.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.name.endswith("db-bootstrap-egress")
    ]
    selector = egress.inputs["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= migration.inputs["spec"]["template"]["metadata"]["labels"].items()
