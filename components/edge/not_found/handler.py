"""Lambda@Edge origin-response handler of the static (S3) behaviours only.

CloudFront's custom error responses apply to the whole distribution, so the gateway's JSON
404s would become an HTML page too. This function runs only where S3 answers: a missing key
(403 under Origin Access Control, which grants no s3:ListBucket; 404 otherwise) becomes the
friendly page with a real 404 status. Every other response passes through untouched.
"""

from __future__ import annotations

from pathlib import Path

PAGE = (Path(__file__).parent / "404.html").read_text()
MISSING_KEY = {"403", "404"}
#: Short: a page published a minute later is served.
CACHE_SECONDS = 60


def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    if response["status"] not in MISSING_KEY:
        return response
    return {
        "status": "404",
        "statusDescription": "Not Found",
        "headers": {
            "content-type": [{"key": "Content-Type", "value": "text/html; charset=utf-8"}],
            "cache-control": [{"key": "Cache-Control", "value": f"public, max-age={CACHE_SECONDS}"}],
        },
        "body": PAGE,
    }
