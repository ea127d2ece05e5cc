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


def test_odoo_images_are_keyed_by_session_and_nothing_private_is_cached(run):
    """Odoo marks a response public only when the public user asked, so the session is in the
    images' key; min and default TTL 0, so `private` and header-less responses stay uncached."""
    policies = {p.name: p.inputs for p in run.of_type("aws:cloudfront/cachePolicy:CachePolicy")}
    images = policies[f"sd-{run.stack}-cdn-odoo-images"]
    keys = images["parametersInCacheKeyAndForwardedToOrigin"]
    assert keys["cookiesConfig"] == {"cookieBehavior": "whitelist", "cookies": {"items": ["session_id"]}}
    assert keys["queryStringsConfig"]["queryStringBehavior"] == "all"
    for role in ("odoo-images", "odoo-assets"):
        policy = policies[f"sd-{run.stack}-cdn-{role}"]
        assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 0, 31536000)
