"""Calls to the shared cache (Redis) that must fail closed.

Sign-in counters and the replay denylist live in Redis next to the sessions. A backend error is
raised as SessionStoreUnavailable, so every caller answers 503 instead of carrying on without the
check it needed.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from accounts.sessions import SessionStoreUnavailable

log = logging.getLogger(__name__)


def cache_call(name: str, *args, **kwargs):
    try:
        return getattr(cache, name)(*args, **kwargs)
    except Exception as exc:
        log.error("cache unavailable (%s)", type(exc).__name__)
        raise SessionStoreUnavailable(type(exc).__name__) from None
