"""Staff sign-in to Django admin: throttling of failed attempts.

Failures are counted per (username, IP) in the cache; after STAFF_SIGNIN_MAX_FAILURES within
STAFF_SIGNIN_WINDOW_SECONDS the form refuses before checking the password, so guessing stops even
when every guess is wrong in a different way (password or second factor). The typed username is
never stored: the throttle key and the audit event carry a hash of it.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

from gocsm.signals import staff_sign_in_failed

log = logging.getLogger(__name__)


def _ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else "") or "-"


def throttle_key(username: str, request) -> str:
    ident = f"{(username or '').strip().lower()}|{_ip(request)}"
    return "staff-signin-failures:" + hashlib.sha256(ident.encode()).hexdigest()


def is_throttled(username: str, request) -> bool:
    try:
        count = cache.get(throttle_key(username, request), 0)
    except Exception:  # cache down: refuse rather than allow unlimited guessing
        log.warning("staff sign-in throttle unavailable", extra={"event": "staff.throttle_down"})
        return True
    return count >= settings.STAFF_SIGNIN_MAX_FAILURES


def note_failure(username: str, request, *, reason: str) -> None:
    """Count one failed attempt and announce it (the audit trail listens: accounts.staffaudit)."""
    from gocsm import metrics

    key = throttle_key(username, request)
    try:
        cache.add(key, 0, timeout=settings.STAFF_SIGNIN_WINDOW_SECONDS)
        cache.incr(key)
    except Exception:
        log.warning("staff sign-in throttle unavailable", extra={"event": "staff.throttle_down"})
    metrics.STAFF_SIGN_IN_FAILURES.labels(reason=reason).inc()
    staff_sign_in_failed.send(sender=__name__, username=username, request=request, reason=reason)


def clear_failures(username: str, request) -> None:
    try:
        cache.delete(throttle_key(username, request))
    except Exception:
        log.warning("staff sign-in throttle unavailable", extra={"event": "staff.throttle_down"})


def on_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password with asterisks in `credentials`.
    note_failure(credentials.get("username", ""), request, reason="password")


def on_logged_in(sender, request, user, **kwargs):
    if request is not None:
        clear_failures(user.get_username(), request)
