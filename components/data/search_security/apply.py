"""Apply OpenSearch security roles and role mappings as code, signed as the domain's IAM master.

The domain's fine-grained access control has no internal users: its master is an IAM role, and
this function runs as that role. Pulumi invokes it with the whole desired state whenever that
state changes (`aws.lambda_.Invocation`); each role and mapping is PUT in full, so a run
converges whatever the domain held before. Requests are SigV4-signed for the `es` service
with the function's own credentials; the domain's certificate is verified by the system trust
store (the VPC endpoint presents an Amazon-issued certificate).

The event: `endpoint` (https://host), `roles` (name -> the security plugin's role body) and
`mappings` (role name -> IAM role ARNs, its backend roles).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

log = logging.getLogger()
log.setLevel(logging.INFO)

API = "/_plugins/_security/api"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """PUT every role, then every mapping; returns what was applied."""
    endpoint = event["endpoint"].rstrip("/")
    for name, body in sorted(event["roles"].items()):
        put(f"{endpoint}{API}/roles/{name}", body)
    for name, arns in sorted(event["mappings"].items()):
        put(f"{endpoint}{API}/rolesmapping/{name}", {"backend_roles": sorted(arns)})
    return {"roles": sorted(event["roles"]), "mappings": sorted(event["mappings"])}


def put(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = AWSRequest(method="PUT", url=url, data=data, headers={"Content-Type": "application/json"})
    credentials = botocore.session.get_session().get_credentials()
    SigV4Auth(credentials, "es", os.environ["AWS_REGION"]).add_auth(request)
    prepared = urllib.request.Request(url, data=data, headers=dict(request.headers), method="PUT")
    with urllib.request.urlopen(prepared, timeout=20) as response:
        log.info("PUT %s: %s", url, response.status)
