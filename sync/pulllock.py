"""The per-agency pull lock: at most one pull of an agency runs at a time.

A pull outlives the task that starts it (it fans out one task per sub-account), so the lock is not
a context manager: the agency task takes it with its run's token, and whichever sub-account task
closes the run releases it. The expiry bounds a run whose workers all died; the token makes sure
only the owner releases (a run that overran its expiry never frees a newer run's lock).

Redis when configured (SET NX PX, compare-and-delete in Lua); the process-local cache otherwise
(embedded mode has one process).
"""

from __future__ import annotations

from django.core.cache import cache

from gocsm import redisconn
from gocsm.agencykeys import agency_cache_key, agency_redis_key

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def _key(agency_id: int) -> str:
    return agency_redis_key(agency_id, "lock", "pull")


def _cache_key(agency_id: int) -> str:
    return agency_cache_key(agency_id, "lock", "pull")


def acquire(agency_id: int, token: str, ttl_seconds: int) -> bool:
    """Take the lock for `token`; False when another pull holds it."""
    r = redisconn.connection()
    if r is None:
        return cache.add(_cache_key(agency_id), token, timeout=ttl_seconds)
    return bool(r.set(_key(agency_id), token, nx=True, px=int(ttl_seconds * 1000)))


def release(agency_id: int, token: str) -> bool:
    """Free the lock if `token` still owns it."""
    r = redisconn.connection()
    if r is None:
        if cache.get(_cache_key(agency_id)) == token:
            return cache.delete(_cache_key(agency_id))
        return False
    return redisconn.delete_if_holds(r, _key(agency_id), token)


def extend(agency_id: int, token: str, ttl_seconds: int) -> bool:
    """Push the expiry out while the owner is still working."""
    r = redisconn.connection()
    if r is None:
        if cache.get(_cache_key(agency_id)) == token:
            return cache.touch(_cache_key(agency_id), ttl_seconds)
        return False
    return bool(r.eval(_EXTEND, 1, _key(agency_id), token, int(ttl_seconds * 1000)))


def holder(agency_id: int) -> str | None:
    r = redisconn.connection()
    if r is None:
        return cache.get(_cache_key(agency_id))
    value = r.get(_key(agency_id))
    return value.decode() if isinstance(value, bytes) else value
