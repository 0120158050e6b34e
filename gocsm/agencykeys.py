"""Where an agency's short-lived state lives in Redis, so a purge can find all of it.

Every per-agency key (caches, counters, locks, rate-limit buckets) must be built here:

- through Django's cache:  cache.set(agency_cache_key(agency.pk, "dashboard", "v2"), ...)
  (django-redis stores it as "gocsm:<version>:agency:<pk>:dashboard:v2");
- on a raw Redis connection:  r.set(agency_redis_key(agency.pk, "lock", "pull"), ...)
  (stored as "gocsm:agency:<pk>:lock:pull").

accounts.purge deletes both patterns. Sessions live under the session store's own prefix; they
are found through their index (accounts.sessionindex), whose keys are built here.
"""

from __future__ import annotations

RAW_PREFIX = "gocsm:"


def agency_cache_key(agency_id: int, *parts: object) -> str:
    return ":".join(["agency", str(int(agency_id)), *(str(p) for p in parts)])


def agency_redis_key(agency_id: int, *parts: object) -> str:
    return RAW_PREFIX + agency_cache_key(agency_id, *parts)


def agency_cache_pattern(agency_id: int) -> str:
    return f"agency:{int(agency_id)}:*"


def agency_redis_pattern(agency_id: int) -> str:
    return RAW_PREFIX + agency_cache_pattern(agency_id)
