"""Every Odoo route resolved through the rendered distributions with CloudFront's matching rules
(tests/harness/cloudfront.py): on Odoo's host each reaches the ALB with the method its client
uses, cached only where Odoo's Cache-Control decides; the portal's hosts send /api/* to the ALB
and read everything else from S3. `pytest -s` prints the table."""

from __future__ import annotations

import json

from tests.conftest import ROOT, section
from tests.harness.checks import nonempty
from tests.harness.cloudfront import behavior_for, matches

DIST = "aws:cloudfront/distribution:Distribution"
ROUTES = json.loads((ROOT / "tests" / "fixtures" / "odoo" / "routes.json").read_text())["routes"]
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def by_host(run) -> dict[str, dict]:
    return {alias: d.inputs for d in run.of_type(DIST) for alias in d.inputs["aliases"]}


def policy_role(run, behavior) -> str:
    """The role of the cache policy a behaviour names (its resource is <prefix>-cdn-<role>)."""
    name = behavior["cachePolicyId"].removesuffix("-id")
    return name.removeprefix(f"sd-{run.stack}-cdn-").replace("-", "_")


def test_the_matcher_follows_cloudfronts_rules():
    assert matches("/*/static/*", "/website_sale/static/src/img/cart.png")
    assert matches("*.png", "/a/b.png") and not matches("*.png", "/a/b.PNG")
    assert matches("/web/image/*", "/web/image/x") and not matches("/web/image/*", "/web/images")
    assert matches("/api/v?/*", "/api/v1/cart") and not matches("/api/v?/*", "/api/v10/cart")


def test_every_odoo_route_reaches_odoo_on_its_host(run):
    cdn = section(run.stack, "cdn")
    odoo = by_host(run)[f"{cdn.get('odooHost', 'erp')}.{cdn['domain']}"]
    assert "defaultRootObject" not in odoo or not odoo["defaultRootObject"]
    for route in ROUTES:
        behavior = behavior_for(odoo, route["path"])
        role = policy_role(run, behavior)
        print(f"{route['method']:<5} {route['path']:<50} {behavior['targetOriginId']:<10} {role:<12} {route['what']}")
        assert behavior["targetOriginId"] == "APIOrigin", route
        assert route["method"] in behavior["allowedMethods"], route
        assert role == route.get("cached", "api"), route


def test_the_portal_sends_the_api_to_the_alb_and_reads_the_rest_from_s3(run):
    cdn, hosts = section(run.stack, "cdn"), by_host(run)
    portal = hosts[cdn["domain"]]
    assert hosts[f"www.{cdn['domain']}"] is portal and hosts[f"{cdn.get('apiHost', 'api')}.{cdn['domain']}"] is portal
    api = behavior_for(portal, "/api/v1/cart/items")
    assert api["targetOriginId"] == "APIOrigin" and "POST" in api["allowedMethods"]
    for route in ROUTES:
        behavior = behavior_for(portal, route["path"])
        assert behavior["targetOriginId"] == "S3Origin" and set(behavior["allowedMethods"]) <= READ_METHODS


def test_no_behaviour_sends_a_write_method_to_s3(run):
    for distribution in nonempty(run.of_type(DIST)):
        inputs = distribution.inputs
        for behavior in [inputs["defaultCacheBehavior"], *inputs.get("orderedCacheBehaviors", [])]:
            if behavior["targetOriginId"] == "S3Origin":
                assert set(behavior["allowedMethods"]) <= READ_METHODS, behavior.get("pathPattern")


def test_odoo_files_are_cached_as_odoo_says_and_asked_for_without_cookies(run):
    """Min and default TTL 0: `private` and header-less responses stay uncached. No cookie
    reaches Odoo on these paths, so it answers as to anyone and no Set-Cookie is cached."""
    policies = {p.name: p.inputs for p in run.of_type("aws:cloudfront/cachePolicy:CachePolicy")}
    assets = policies[f"sd-{run.stack}-cdn-odoo-assets"]
    assert (assets["minTtl"], assets["defaultTtl"], assets["maxTtl"]) == (0, 0, 31536000)
    keys = assets["parametersInCacheKeyAndForwardedToOrigin"]
    assert keys["cookiesConfig"]["cookieBehavior"] == "none"
    assert keys["queryStringsConfig"]["queryStringBehavior"] == "all"
    requests = {p.name: p.inputs for p in run.of_type("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")}
    odoo = by_host(run)[f"erp.{section(run.stack, 'cdn')['domain']}"]
    for behavior in nonempty(odoo["orderedCacheBehaviors"]):
        request = requests[behavior["originRequestPolicyId"].removesuffix("-id")]
        assert request["cookiesConfig"]["cookieBehavior"] == "none", behavior["pathPattern"]


def test_odoo_is_told_the_host_its_viewers_asked_for(run):
    """Odoo (proxy_mode) builds its URLs from X-Forwarded-Host; the origin sets it, so a viewer's
    own header never reaches Odoo. The portal's origin does not name Odoo's host."""
    domain = section(run.stack, "cdn")["domain"]
    distributions = {d.name: d.plain_inputs for d in run.of_type(DIST)}
    [odoo_origin] = distributions[f"sd-{run.stack}-cdn-odoo"]["origins"]
    headers = {h["name"]: h["value"] for h in odoo_origin["customHeaders"]}
    assert headers["X-Forwarded-Host"] == f"erp.{domain}" and "X-Origin-Verify" in headers
    portal_origins = distributions[f"sd-{run.stack}-cdn"]["origins"]
    assert not any(h["name"] == "X-Forwarded-Host" for o in portal_origins for h in o.get("customHeaders", []))
