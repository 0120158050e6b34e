"""Where an agency's short-lived state lives in Redis, so a purge can find all of it.

Every per-agency key (caches, counters, locks, rate-limit buckets) must be built here:

- through Django's cache:  cache.set(agency_cache_key(agency.pk, "dashboard", "v2"), ...)
  (django-redis stores it as "gocsm:<version>:{agency-<pk>}:dashboard:v2");
- on a raw Redis connection:  r.set(agency_redis_key(agency.pk, "lock", "pull"), ...)
  (stored as "gocsm:{agency-<pk>}:lock:pull").

`{agency-<pk>}` is a Redis Cluster hash tag: Cluster places a key by the part between its first
`{` and the next `}`, so all of one agency's keys share one slot (a pipeline, transaction or Lua
script over them stays single-slot) while agencies spread over the cluster (docs/scaling.md §5).

accounts.purge deletes both patterns, and for one release also the keys of the shape before the
tag (`agency:<pk>:...`), which a running deployment still holds until they expire. Sessions live
under the session store's own prefix; they are found through their index
(accounts.sessionindex), whose keys are built here.
"""

from __future__ import annotations

RAW_PREFIX = "gocsm:"


def agency_tag(agency_id: int) -> str:
    """The agency's Redis Cluster hash tag, `{agency-<pk>}`."""
    return f"{{agency-{int(agency_id)}}}"


def agency_cache_key(agency_id: int, *parts: object) -> str:
    return ":".join([agency_tag(agency_id), *(str(p) for p in parts)])


def agency_redis_key(agency_id: int, *parts: object) -> str:
    return RAW_PREFIX + agency_cache_key(agency_id, *parts)


def agency_cache_pattern(agency_id: int) -> str:
    # Redis's MATCH and fnmatch treat braces literally; the closing brace keeps agency 4 from
    # matching agency 42's keys.
    return agency_tag(agency_id) + ":*"


def agency_redis_pattern(agency_id: int) -> str:
    return RAW_PREFIX + agency_cache_pattern(agency_id)


# Keys written before the hash tag (until 2026-12). Purge still looks for them so an agency purged
# in the release that introduced the tag loses those too; drop these in the release after.
def legacy_agency_cache_pattern(agency_id: int) -> str:
    return f"agency:{int(agency_id)}:*"


def legacy_agency_redis_pattern(agency_id: int) -> str:
    return RAW_PREFIX + legacy_agency_cache_pattern(agency_id)


def agency_cache_patterns(agency_id: int) -> list[str]:
    return [agency_cache_pattern(agency_id), legacy_agency_cache_pattern(agency_id)]


def agency_redis_patterns(agency_id: int) -> list[str]:
    return [agency_redis_pattern(agency_id), legacy_agency_redis_pattern(agency_id)]
