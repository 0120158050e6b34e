"""The agency's small cached values a page reads, asked of the shared cache in one round trip.

Several features keep a per-agency value in the cache that nearly every page shows: the agency's
short lists (accounts.lookups), its churn model's summary (analytics.churn), when a re-sync was
last asked for (sync.status). Asked one by one they cost a round trip each, more than the rest
of their work. Each feature registers its key here (from its AppConfig.ready()); the first read
of a request fetches all of them with one get_many and keeps the answers on the request.

A value not in the cache reads as None: the feature reads its source and stores the value
itself, as before. When the cache cannot answer, get() raises what the cache raised, on every
read of that request without asking again: each feature already falls back to its source then.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache

# name -> key for an agency id
_KEYS: dict[str, Callable[[int], str]] = {}


def register(name: str, key_for: Callable[[int], str]) -> None:
    _KEYS[name] = key_for


class _Unavailable:
    def __init__(self, exc: Exception):
        self.exc = exc


def get(request, name: str):
    """The cached value `name` of the request's agency, or None when it is not cached."""
    found = getattr(request, "_page_cache", None)
    if found is None:
        keys = {n: key_for(request.agency.pk) for n, key_for in _KEYS.items()}
        try:
            values = cache.get_many(keys.values())
        except Exception as exc:  # re-raised to each reader, which falls back
            found = _Unavailable(exc)
        else:
            found = {n: values.get(key) for n, key in keys.items()}
        request._page_cache = found
    if isinstance(found, _Unavailable):
        raise found.exc
    return found[name]
