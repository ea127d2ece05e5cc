"""The OpenSearch security function (components/data/search_security/apply.py) against a local
HTTP server standing in for the domain: what it PUTs, that every request is SigV4-signed for
`es`, and that a refusal fails the invocation (so `pulumi up` fails, not the clients later)."""

from __future__ import annotations

import json
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from components.data.search_roles import ROLES
from components.data.search_security import apply

pytestmark = pytest.mark.integration  # a local HTTP server stands in for the domain
ODOO, GATEWAY = "arn:aws:iam::123456789012:role/odoo", "arn:aws:iam::123456789012:role/gateway"


class Domain(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, str]] = []
    status = 200

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Domain.received.append((self.path, body, self.headers["Authorization"]))
        self.send_response(Domain.status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def domain(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    Domain.received, Domain.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Domain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_roles_then_mappings_each_put_in_full_and_signed(domain):
    event = {
        "endpoint": domain,
        "roles": ROLES,
        "mappings": {"catalogue_writer": [ODOO], "catalogue_reader": [GATEWAY]},
    }
    assert apply.handler(event, None) == {
        "roles": ["catalogue_reader", "catalogue_writer"],
        "mappings": ["catalogue_reader", "catalogue_writer"],
    }
    paths = [path for path, _, _ in Domain.received]
    assert paths == [
        "/_plugins/_security/api/roles/catalogue_reader",
        "/_plugins/_security/api/roles/catalogue_writer",
        "/_plugins/_security/api/rolesmapping/catalogue_reader",
        "/_plugins/_security/api/rolesmapping/catalogue_writer",
    ]
    bodies = {path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]: body for path, body, _ in Domain.received}
    assert bodies["roles/catalogue_reader"] == ROLES["catalogue_reader"]
    assert bodies["rolesmapping/catalogue_writer"] == {"backend_roles": [ODOO]}
    for _, _, authorization in Domain.received:
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/es/aws4_request" in authorization


def test_a_refusal_fails_the_invocation(domain):
    Domain.status = 403
    with pytest.raises(urllib.error.HTTPError):
        apply.handler({"endpoint": domain, "roles": ROLES, "mappings": {}}, None)


def test_the_reader_only_reads_and_the_writer_only_the_catalogue():
    """Both check the cluster first; only the writer may bulk-index (a cluster permission)."""
    assert ROLES["catalogue_reader"]["cluster_permissions"] == ["cluster:monitor/main", "cluster_composite_ops_ro"]
    assert ROLES["catalogue_writer"]["cluster_permissions"] == ["cluster:monitor/main", "cluster_composite_ops"]
    reader, writer = ROLES["catalogue_reader"], ROLES["catalogue_writer"]
    assert all(
        action.startswith("indices:data/read") or "get" in action or "resolve" in action
        for action in reader["index_permissions"][0]["allowed_actions"]
    )
    for role in (reader, writer):
        assert [p["index_patterns"] for p in role["index_permissions"]] == [["catalogue*"]]
