"""Alert once per incident, and say so when it clears.

    from gocsm.alerts import raise_alert, clear_alert
    raise_alert("sync.stale", agency.company_id, "No successful pull for 3 hours", hours=3)
    ...
    clear_alert("sync.stale", agency.company_id, "Pulls are succeeding again")

An incident is (event, key). The first raise_alert of an incident writes one ERROR log line whose
`event` field is the stable event name (what log-based alerting matches) and emails
OPS_ALERT_EMAIL; repeats while it stays open do nothing (except retry an email that failed).
clear_alert of an open incident logs `<event>.recovered` and emails a recovery message. State
lives in the shared cache, so any number of workers and beat runs agree; if Redis loses it, an
incident still open is reported once more, never silently dropped.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import timezone

log = logging.getLogger("gocsm.alerts")
_SAFE_PART = re.compile(r"[^A-Za-z0-9_.-]")


def _state_key(event: str, key: str) -> str:
    return f"ops-alert:{_SAFE_PART.sub('_', event)}:{_SAFE_PART.sub('_', str(key))}"


def _email(subject: str, body: str) -> bool:
    if not settings.OPS_ALERT_EMAIL:
        return True  # nobody to tell; the log line is the alert
    try:
        send_mail(subject, body, None, [settings.OPS_ALERT_EMAIL], fail_silently=False)
    except Exception as exc:
        log.warning(
            "alert email failed",
            extra={"event": "ops.alert_email_failed", "error": type(exc).__name__},
        )
        return False
    return True


def raise_alert(event: str, key: str, message: str, **context) -> bool:
    """Report an incident unless it is already open. True when this call opened it."""
    state_key = _state_key(event, key)
    state = {"since": timezone.now().isoformat(), "emailed": False}
    opened = cache.add(state_key, state, timeout=None)
    if not opened:
        state = cache.get(state_key) or state
        if state.get("emailed"):
            return False
    else:
        log.error(message, extra={"event": event, "alert_key": key, **context})
    details = "\n".join(f"{k}: {v}" for k, v in sorted(context.items()))
    state["emailed"] = _email(
        f"[GoCSM alert] {event} {key}",
        f"{message}\n\nevent: {event}\nkey: {key}\nsince: {state['since']}\n{details}\n",
    )
    cache.set(state_key, state, timeout=None)
    return opened


def clear_alert(event: str, key: str, message: str = "Recovered") -> bool:
    """Close an open incident with a recovery message. True when one was open."""
    state_key = _state_key(event, key)
    state = cache.get(state_key)
    if state is None:
        return False
    if not cache.delete(state_key):
        return False  # another worker cleared it first
    log.info(message, extra={"event": f"{event}.recovered", "alert_key": key})
    _email(
        f"[GoCSM recovered] {event} {key}",
        f"{message}\n\nevent: {event}\nkey: {key}\nopen since: {state.get('since')}\n",
    )
    return True


def is_open(event: str, key: str) -> bool:
    return cache.get(_state_key(event, key)) is not None
