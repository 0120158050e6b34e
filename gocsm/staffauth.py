"""Staff sign-in to Django admin: throttling of failed attempts and the audit trail.

Failures are counted per (username, IP) in the cache; after STAFF_SIGNIN_MAX_FAILURES within
STAFF_SIGNIN_WINDOW_SECONDS the form refuses before checking the password, so guessing stops even
when every guess is wrong in a different way (password or second factor). The typed username is
never stored: the throttle key and the audit event carry a hash of it.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

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
    """Count one failed attempt and write the audit event."""
    from accounts.audit import fingerprint, record
    from accounts.models import AuditEvent
    from gocsm import metrics

    key = throttle_key(username, request)
    try:
        cache.add(key, 0, timeout=settings.STAFF_SIGNIN_WINDOW_SECONDS)
        cache.incr(key)
    except Exception:
        log.warning("staff sign-in throttle unavailable", extra={"event": "staff.throttle_down"})
    metrics.STAFF_SIGN_IN_FAILURES.labels(reason=reason).inc()
    user = get_user_model()._default_manager.filter(username=username).only("pk").first()
    record(
        "staff.sign_in_failed",
        actor_type=AuditEvent.ACTOR_STAFF,
        actor_id=str(user.pk) if user else "",
        outcome="failure",
        request=request,
        detail={"reason": reason, "username_hash": fingerprint((username or "").lower())},
    )


def clear_failures(username: str, request) -> None:
    try:
        cache.delete(throttle_key(username, request))
    except Exception:
        log.warning("staff sign-in throttle unavailable", extra={"event": "staff.throttle_down"})


def on_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password with asterisks in `credentials`.
    note_failure(credentials.get("username", ""), request, reason="password")


def on_logged_in(sender, request, user, **kwargs):
    from accounts.audit import record
    from accounts.models import AuditEvent

    if request is not None:
        clear_failures(user.get_username(), request)
    record(
        "staff.sign_in",
        actor_type=AuditEvent.ACTOR_STAFF,
        actor_id=str(user.pk),
        request=request,
    )


def on_logged_out(sender, request, user, **kwargs):
    from accounts.audit import record
    from accounts.models import AuditEvent

    if user is None:
        return
    record(
        "staff.sign_out", actor_type=AuditEvent.ACTOR_STAFF, actor_id=str(user.pk), request=request
    )
