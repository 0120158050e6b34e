"""The Redis connection behind REDIS_URL for code that needs more than the cache API (locks,
journals), and the compare-and-delete those owner-token keys share.

In embedded mode (no REDIS_URL) there is no connection: callers fall back to the process cache,
which is enough for the single process embedded mode runs."""

from __future__ import annotations

from django.conf import settings

# Delete the key only while it still holds the caller's value: an owner that overran its expiry
# never frees (or clears) what a newer owner wrote.
_DELETE_IF_HOLDS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def connection():
    """The default Redis connection, or None in embedded mode."""
    if not settings.REDIS_URL:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def delete_if_holds(conn, key: str, value: str) -> bool:
    """Delete `key` if it holds `value` (atomically, in Redis); True when it was deleted."""
    return bool(conn.eval(_DELETE_IF_HOLDS, 1, key, value))
