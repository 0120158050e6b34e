"""Which sessions belong to an agency, and to one of its people: so ending them is one operation.

A GHL session is written into two indexes when it is created (accounts.sessions): its agency's
and its person's. Each index is a Redis sorted set of session keys scored by creation time, kept
under the agency's key prefix (gocsm.agencykeys) and trimmed to SESSION_MAX_SECONDS, the longest
any session can live. Ending the sessions of an agency or a person is one Lua script that deletes
every indexed session and the index, atomically: no scan of the session keys, no window in which a
new session slips in between reading the index and deleting it.

The index is the fast path, not the guarantee: a session it missed (written before the index
existed, or while Redis was failing) is still refused by the epochs (accounts.identity).

In embedded mode (local-memory cache, one process) the index is a dict held in the cache.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from accounts.sessionkeys import cache_key_for
from gocsm.agencykeys import agency_cache_key, agency_redis_key

# Deletes every session named by the indexes (KEYS) and the indexes themselves; ARGV[1] is the
# session cache keys' prefix. Returns how many sessions were deleted.
_DESTROY = """
local ended = 0
for _, index in ipairs(KEYS) do
  for _, session_key in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    ended = ended + redis.call('DEL', ARGV[1] .. session_key)
  end
  redis.call('DEL', index)
end
return ended
"""


def _agency_index(agency_id: int) -> tuple:
    return (agency_id, "sessions")


def _user_index(agency_id: int, user_id: int) -> tuple:
    return (agency_id, "user", int(user_id), "sessions")


def _session_cache_key(session_key: str) -> str:
    return cache_key_for(session_key)


def _redis():
    """The raw Redis connection behind the cache, or None in embedded mode."""
    if not (hasattr(cache, "client") and hasattr(cache.client, "get_client")):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def add(session_key: str, agency_id: int, user_id: int) -> None:
    """Index a new session under its agency and its person."""
    now = time.time()
    oldest = now - settings.SESSION_MAX_SECONDS
    indexes = [_agency_index(agency_id), _user_index(agency_id, user_id)]
    conn = _redis()
    if conn is None:
        for parts in indexes:
            index = agency_cache_key(*parts)
            members = {k: t for k, t in (cache.get(index) or {}).items() if t > oldest}
            members[session_key] = now
            cache.set(index, members, settings.SESSION_MAX_SECONDS)
        return
    pipe = conn.pipeline(transaction=True)
    for parts in indexes:
        index = agency_redis_key(*parts)
        pipe.zadd(index, {session_key: now})
        # Sessions older than the longest lifetime are gone anyway.
        pipe.zremrangebyscore(index, "-inf", oldest)
        pipe.expire(index, settings.SESSION_MAX_SECONDS)
    pipe.execute()


def count_for_agency(agency_id: int) -> int:
    """Sessions indexed for the agency (some may have expired since)."""
    conn = _redis()
    if conn is None:
        return len(cache.get(agency_cache_key(*_agency_index(agency_id))) or {})
    return int(conn.zcard(agency_redis_key(*_agency_index(agency_id))))


def _destroy(indexes: list[tuple]) -> int:
    if not indexes:
        return 0
    conn = _redis()
    if conn is None:
        ended = 0
        for parts in indexes:
            index = agency_cache_key(*parts)
            keys = [_session_cache_key(k) for k in cache.get(index) or {}]
            ended += sum(1 for key in keys if cache.get(key) is not None)
            cache.delete_many([*keys, index])
        return ended
    # The sessions are stored through the cache, under the keys it makes.
    prefix = cache.make_key(_session_cache_key(""))
    script = conn.register_script(_DESTROY)
    return int(script(keys=[agency_redis_key(*parts) for parts in indexes], args=[prefix]))


def destroy_agency(agency_id: int) -> int:
    """End every indexed session of the agency. Returns how many existed."""
    return _destroy([_agency_index(agency_id)])


def destroy_users(agency_id: int, user_ids) -> int:
    """End every indexed session of these people of the agency. Returns how many existed."""
    return _destroy([_user_index(agency_id, u) for u in user_ids])
