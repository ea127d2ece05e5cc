"""ElastiCache parameter groups (Redis OSS or Valkey), as a pure function of the cluster's role.

Tests `CONFIG SET` every value on a throwaway redis-server and read it back.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Eviction per role. Sessions must never be evicted to make room for API cache entries:
#: - "sessions" (sessions and rate-limit windows): noeviction. A full cluster refuses writes
#:   and alarms, instead of silently logging users out or forgetting rate-limit counts.
#: - "cache" (API responses, entities; every key has a TTL): allkeys-lru, a pure cache.
#: - "shared" (one cluster for all roles): volatile-ttl evicts only keys with a TTL, those
#:   closest to expiry first: API cache entries (300-600 s) go long before sessions (days).
#:   allkeys-lru here would evict sessions under memory pressure.
EVICTION_POLICIES = {"sessions": "noeviction", "cache": "allkeys-lru", "shared": "volatile-ttl"}

#: Set at node start, not through CONFIG SET.
STARTUP_ONLY = frozenset({"cluster-enabled"})


@dataclass(frozen=True)
class RedisTuning:
    #: sessions | cache | shared: picks the eviction policy (EVICTION_POLICIES).
    role: str
    #: Seconds before an idle client is disconnected (0: never).
    idle_client_timeout_s: int
    #: Commands slower than this (microseconds) go to the slow log.
    slowlog_threshold_us: int
    #: Cluster mode enabled (more than one shard).
    cluster_mode: bool


def parameter_group_family(engine: str, engine_version: str) -> str:
    return f"{engine}{engine_version.split('.')[0]}"


def redis_parameters(tuning: RedisTuning) -> dict[str, str]:
    parameters = {
        "maxmemory-policy": EVICTION_POLICIES[tuning.role],
        "maxmemory-samples": "10",
        "timeout": str(tuning.idle_client_timeout_s),
        "tcp-keepalive": "60",
        "slowlog-log-slower-than": str(tuning.slowlog_threshold_us),
        "slowlog-max-len": "256",
        "lazyfree-lazy-eviction": "yes",
        "lazyfree-lazy-expire": "yes",
        # activedefrag is left at ElastiCache's default: Debian's redis-server (the test
        # server) is built without the jemalloc hooks it needs, so it could not be proven here.
    }
    if tuning.cluster_mode:
        parameters["cluster-enabled"] = "yes"
    return parameters
