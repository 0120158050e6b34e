"""Server-side sessions in the cache (Redis in production) with 256-bit random keys.

Why our own engine rather than Django's cache backend:
- Django's keys carry about 165 bits; ours come from `secrets.token_urlsafe(32)` (256 bits), and a
  cookie that does not have exactly that shape is never looked up.
- Django's cache backend swallows backend errors and treats them as "no session"; a Redis outage
  would then look like a signed-out user. Here every backend error raises SessionStoreUnavailable,
  which accounts.sessionmiddleware turns into a 503 (fail closed, never 200 or 401).
- Idle (SESSION_IDLE_SECONDS) and absolute (SESSION_MAX_SECONDS) lifetimes are enforced from
  timestamps stored in the session, not only by the cookie's expiry or the cache TTL.
- A save never resurrects a session that logout deleted meanwhile (Redis SET ... XX).
- The stored data is limited to a whitelist: who (user, agency, role, allowed sub-accounts, the
  session epochs), timestamps and the CSRF token (plus Django's own staff sign-in keys for the
  admin).
- A new GHL session is indexed under its agency and person (accounts.sessionindex), so an
  uninstall, a purge or a person's removal ends all of them in one operation.
"""

from __future__ import annotations

import json
import logging
import secrets
import time

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.core.cache import caches
from django.middleware.csrf import CSRF_SESSION_KEY

from accounts.sessionkeys import (
    SESSION_AGENCY,
    SESSION_AGENCY_EPOCH,
    SESSION_LOCATIONS,
    SESSION_ROLE,
    SESSION_USER,
    SESSION_USER_EPOCH,
    cache_key_for,
)

log = logging.getLogger(__name__)

CREATED_KEY = "_created"
SEEN_KEY = "_seen"
KEY_BYTES = 32  # 256 bits
KEY_LENGTH = 43  # len(token_urlsafe(32))

# Everything a session may hold. GHL sessions use the first group; staff signing in to Django
# admin (issue 8) need Django's auth keys and django-otp's verified device.
ALLOWED_KEYS = frozenset(
    {
        SESSION_USER,
        SESSION_AGENCY,
        SESSION_ROLE,
        SESSION_LOCATIONS,
        SESSION_AGENCY_EPOCH,
        SESSION_USER_EPOCH,
        CREATED_KEY,
        SEEN_KEY,
        CSRF_SESSION_KEY,
        "_auth_user_id",
        "_auth_user_backend",
        "_auth_user_hash",
        "otp_device_id",
    }
)


class SessionStoreUnavailable(RuntimeError):
    """The session backend (Redis) could not be reached; the request must fail closed."""


def is_well_formed_key(key: object) -> bool:
    """True only for keys shaped like ours: 43 characters of the URL-safe base64 alphabet."""
    return (
        isinstance(key, str)
        and len(key) == KEY_LENGTH
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    )


class SessionStore(SessionBase):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = caches[getattr(settings, "SESSION_CACHE_ALIAS", "default")]

    # --- keys ------------------------------------------------------------------------------
    def _validate_session_key(self, key):
        return is_well_formed_key(key)

    def _get_new_session_key(self) -> str:
        while True:
            key = secrets.token_urlsafe(KEY_BYTES)
            if not self.exists(key):
                return key

    cache_key_for = staticmethod(cache_key_for)

    @property
    def cache_key(self) -> str:
        return self.cache_key_for(self._get_or_create_session_key())

    # --- backend calls: every error becomes SessionStoreUnavailable ------------------------------
    def _call(self, name: str, *args, **kwargs):
        try:
            return getattr(self._cache, name)(*args, **kwargs)
        except Exception as exc:
            # Only the exception type: its text could carry a key.
            log.error("session store unavailable (%s)", type(exc).__name__)
            raise SessionStoreUnavailable(type(exc).__name__) from None

    def _uses_redis(self) -> bool:
        return hasattr(self._cache, "client") and hasattr(self._cache.client, "get_client")

    # --- SessionBase API ---------------------------------------------------------------------
    def exists(self, session_key) -> bool:
        return bool(session_key) and self._call("get", self.cache_key_for(session_key)) is not None

    def load(self) -> dict:
        raw = self._call("get", self.cache_key_for(self.session_key)) if self.session_key else None
        data = decode_stored(raw)
        if data is None:
            self._session_key = None
            return {}
        now = time.time()
        created, seen = data.get(CREATED_KEY), data.get(SEEN_KEY)
        if (
            not isinstance(created, int | float)
            or not isinstance(seen, int | float)
            or now - created > settings.SESSION_MAX_SECONDS
            or now - seen > settings.SESSION_IDLE_SECONDS
        ):
            self.delete(self.session_key)
            self._session_key = None
            return {}
        return data

    def create(self) -> None:
        for _ in range(10):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise SessionStoreUnavailable("could not allocate a session key")

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        if self.session_key is None:
            # Loading found the session gone (logged out or expired meanwhile): do not revive it.
            raise UpdateError
        now = time.time()
        data.setdefault(CREATED_KEY, now)
        data[SEEN_KEY] = now
        stored = {k: v for k, v in data.items() if k in ALLOWED_KEYS}
        dropped = sorted(set(data) - ALLOWED_KEYS)
        if dropped:
            # Names only: values may be anything the caller put there.
            log.warning("session keys not allowed and not stored: %s", ", ".join(dropped))
        remaining = settings.SESSION_MAX_SECONDS - (now - data[CREATED_KEY])
        timeout = max(1, int(min(settings.SESSION_IDLE_SECONDS, remaining)))
        value = json.dumps(stored, separators=(",", ":"))
        key = self.cache_key_for(self.session_key)
        if must_create:
            if not self._call("add", key, value, timeout):
                raise CreateError
            self._index(stored)
            return None
        if self._uses_redis():
            # SET ... XX: a request that finishes after logout must not bring the session back.
            if not self._call("set", key, value, timeout, xx=True):
                raise UpdateError
            return None
        if self._call("get", key) is None:
            raise UpdateError
        self._call("set", key, value, timeout)
        return None

    def _index(self, stored: dict) -> None:
        """A new GHL session joins its agency's and person's indexes (accounts.sessionindex)."""
        agency_id, user_id = stored.get(SESSION_AGENCY), stored.get(SESSION_USER)
        if not isinstance(agency_id, int) or not isinstance(user_id, int):
            return  # anonymous, or staff signing in to admin
        from accounts import sessionindex

        try:
            sessionindex.add(self.session_key, agency_id, user_id)
        except Exception as exc:
            # The session exists unindexed; the epochs still end it. Fail closed like any write.
            log.error("session index unavailable (%s)", type(exc).__name__)
            raise SessionStoreUnavailable(type(exc).__name__) from None

    def delete(self, session_key=None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._call("delete", self.cache_key_for(session_key))

    def get_expiry_age(self, **kwargs) -> int:
        return settings.SESSION_IDLE_SECONDS

    @classmethod
    def clear_expired(cls) -> None:
        # Redis expires the keys itself.
        return None


def decode_stored(raw) -> dict | None:
    """The session data held under a session's cache key, or None when it is not a session."""
    if raw is None:
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
