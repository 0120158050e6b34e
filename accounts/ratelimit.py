"""Failed SSO attempts per client IP, counted in Redis (fixed window).

Past SSO_FAILURES_PER_IP failures within SSO_FAILURE_WINDOW_SECONDS the endpoint answers 429
before doing any work, so it cannot be used to probe the decryption at speed. Successes do not
reset the count: otherwise one valid payload would reopen the window for a prober.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from accounts.redisguard import cache_call

PREFIX = "gocsm.sso.failures."


def _key(ip: str | None) -> str:
    # Hashed so the key space holds no raw addresses.
    return PREFIX + hashlib.sha256((ip or "unknown").encode()).hexdigest()[:32]


def is_blocked(ip: str | None) -> bool:
    count = cache_call("get", _key(ip)) or 0
    return int(count) >= settings.SSO_FAILURES_PER_IP


def count_failure(ip: str | None) -> int:
    key = _key(ip)
    # add() starts the window only if none is running; incr() keeps the window's expiry.
    cache_call("add", key, 0, settings.SSO_FAILURE_WINDOW_SECONDS)
    try:
        return int(cache_call("incr", key))
    except ValueError:
        # The window expired between add() and incr(): start a new one.
        cache_call("set", key, 1, settings.SSO_FAILURE_WINDOW_SECONDS)
        return 1
