"""CloudFront's request routing, for tests: which behaviour of a rendered distribution a path
takes, by CloudFront's documented rules (Developer Guide, "Path pattern"): patterns are
case-sensitive, `*` matches any run of characters, `/` included, `?` exactly one, the query
string plays no part, a pattern without a leading `/` behaves as if it had one, and the first
ordered behaviour that matches wins; none matching, the default behaviour serves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def matches(pattern: str, path: str) -> bool:
    pattern = pattern if pattern.startswith("/") else f"/{pattern}"
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def behavior_for(distribution: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The behaviour that serves `path` (without its query string)."""
    for behavior in distribution.get("orderedCacheBehaviors") or []:
        if matches(behavior["pathPattern"], path):
            return behavior
    return distribution["defaultCacheBehavior"]
