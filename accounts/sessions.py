"""Server-side sessions in the cache (Redis in production) with 256-bit random keys.

Django's own keys carry about 165 bits, so keys here come from `secrets.token_urlsafe(32)`.
Idle and absolute lifetimes are enforced on the server from timestamps stored in the session,
not only by the cookie's expiry or the cache TTL.
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore

CREATED_KEY = "_created"
SEEN_KEY = "_seen"
KEY_BYTES = 32  # 256 bits


class SessionStore(CacheSessionStore):
    cache_key_prefix = "gocsm.session."

    def _get_new_session_key(self) -> str:
        while True:
            key = secrets.token_urlsafe(KEY_BYTES)
            if not self.exists(key):
                return key

    def _validate_session_key(self, key):
        # token_urlsafe(32) is 43 characters of [A-Za-z0-9_-]; anything else is not ours.
        return bool(key) and len(key) == 43 and all(c.isalnum() or c in "-_" for c in key)

    def load(self):
        data = super().load()
        if not data:
            return data
        now = time.time()
        created = data.get(CREATED_KEY, 0)
        seen = data.get(SEEN_KEY, 0)
        if (
            now - created > settings.SESSION_MAX_SECONDS
            or now - seen > settings.SESSION_IDLE_SECONDS
        ):
            self.delete(self.session_key)
            self._session_key = None
            return {}
        return data

    def save(self, must_create=False):
        session = self._get_session(no_load=must_create)
        now = time.time()
        session.setdefault(CREATED_KEY, now)
        session[SEEN_KEY] = now
        super().save(must_create=must_create)

    def get_expiry_age(self, **kwargs):
        return settings.SESSION_IDLE_SECONDS
