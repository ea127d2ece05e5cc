"""A CloudWatch Synthetics canary (Python runtime, no browser) that measures what users wait for:
a page with the files it references, one static asset, or one API call, through the public
URLs, so CloudFront, the WAF and the ALB are on the path as for users. It publishes the slowest
URL's time as `SmartDairy/Synthetics LatencyMs {Check=<name>}` and fails the run on any error
status, so `SuccessPercent` is availability and `LatencyMs` is speed.

Standard library and boto3 only (both in every Synthetics Python runtime). Settings come from
the environment: CHECK_NAME, CHECK_KIND (page | asset | api), CHECK_URLS (comma-separated),
METRIC_NAMESPACE.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any

#: Browsers open about six connections per host.
PARALLEL_FETCHES = 6
TIMEOUT_S = 10
USER_AGENT = "smartdairy-canary/1"


class CheckFailed(Exception):
    """A URL answered with an error status, or not at all."""


class Subresources(HTMLParser):
    """The scripts, stylesheets and images a page makes the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img") and found.get("src"):
            self.urls.append(found["src"] or "")
        elif tag == "link" and found.get("href") and "stylesheet" in (found.get("rel") or "").split():
            self.urls.append(found["href"] or "")


def fetch(url: str) -> bytes:
    """The body of `url` (redirects followed); CheckFailed on a status of 400 or more."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise CheckFailed(f"{url}: HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError) as error:
        raise CheckFailed(f"{url}: {error}") from error


def timed(action: Callable[[str], Any], url: str) -> float:
    """Milliseconds `action(url)` took."""
    start = time.perf_counter()
    action(url)
    return (time.perf_counter() - start) * 1000


def load_page(url: str) -> None:
    """The page, then what it references, six at a time, as a browser's first visit would."""
    parser = Subresources()
    parser.feed(fetch(url).decode("utf-8", errors="replace"))
    resources = [urllib.parse.urljoin(url, found) for found in parser.urls]
    with ThreadPoolExecutor(PARALLEL_FETCHES) as pool:
        list(pool.map(fetch, resources))


def measure(kind: str, urls: Sequence[str]) -> float:
    """The slowest URL's time in milliseconds."""
    action: Callable[[str], Any] = {"page": load_page, "asset": fetch, "api": fetch}[kind]
    return max(timed(action, url) for url in urls)


def publish(cloudwatch: Any, namespace: str, check: str, milliseconds: float) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "LatencyMs",
                "Dimensions": [{"Name": "Check", "Value": check}],
                "Value": milliseconds,
                "Unit": "Milliseconds",
            }
        ],
    )


def run(env: dict[str, str], cloudwatch: Any) -> float:
    urls = [url for url in env["CHECK_URLS"].split(",") if url]
    milliseconds = measure(env["CHECK_KIND"], urls)
    publish(cloudwatch, env["METRIC_NAMESPACE"], env["CHECK_NAME"], milliseconds)
    print(f"{env['CHECK_NAME']}: {milliseconds:.0f} ms")
    return milliseconds


def handler(event: Any, context: Any) -> str:
    """The Synthetics runtime's entry point (`canary.handler`)."""
    import boto3

    milliseconds = run(dict(os.environ), boto3.client("cloudwatch"))
    return f"{milliseconds:.0f} ms"
