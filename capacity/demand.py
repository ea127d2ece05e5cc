"""Demand: what one concurrent user of the seed's k6 journey asks of each tier, per second.

One iteration of `full_load_test.js`: log in (70 %), list products, open one, search, and for
logged-in users read the cart, add to it (10 %) and order (1 %); then sleep 1-3 s. Every request
goes to the API (`/api/...`): through CloudFront (no caching for the API), the ALB and the
gateway. Product reads and searches are cacheable in Redis; misses go to Odoo (products) or
OpenSearch (search). Logins and cart/order calls always reach Odoo.
"""

from __future__ import annotations

from dataclasses import dataclass

from .assumptions import Assumptions

#: Requests of one iteration, by what serves them.
CACHEABLE_PRODUCT_READS = 2  # list + detail
CACHEABLE_SEARCHES = 1


@dataclass(frozen=True)
class UserDemand:
    """Requests (or commands, or connection-seconds) per second that one user causes."""

    api: float
    odoo: float
    search: float
    redis_cache_ops: float
    redis_sessions_ops: float
    db_connection_s: float
    requests_per_iteration: float
    iteration_s: float


def user_demand(a: Assumptions) -> UserDemand:
    logged_in = a.authenticated_share
    account_calls = logged_in * (1 + a.add_to_cart_share + a.order_share)  # cart, add, order
    logins = logged_in
    cacheable = CACHEABLE_PRODUCT_READS + CACHEABLE_SEARCHES
    per_iteration = logins + cacheable + account_calls
    iteration = a.think_time_s + per_iteration * a.mean_response_s
    miss = 1 - a.api_cache_hit_ratio
    odoo = logins + CACHEABLE_PRODUCT_READS * miss + account_calls
    # Cache role: a GET per cacheable read, a SET per miss. Sessions role: rate limiting
    # (INCR + EXPIRE) on every API request, a session read per logged-in request and per Odoo
    # request (Odoo keeps its sessions there).
    cache_ops = cacheable * (1 + miss)
    session_ops = 2 * per_iteration + logged_in * (per_iteration - logins) + odoo
    return UserDemand(
        api=per_iteration / iteration,
        odoo=odoo / iteration,
        search=CACHEABLE_SEARCHES * miss / iteration,
        redis_cache_ops=cache_ops / iteration,
        redis_sessions_ops=session_ops / iteration,
        db_connection_s=odoo * a.db_time_per_odoo_request_s / iteration,
        requests_per_iteration=per_iteration,
        iteration_s=iteration,
    )
