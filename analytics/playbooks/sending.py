"""Send one delivery, at most once.

The Delivery row was written when the play fired (unique per play, sub-account, episode and
action). A sender first claims it: one UPDATE moves it from queued/waiting-to-retry to sending
and counts the attempt; only the sender whose UPDATE changed the row sends. So a duplicate task
or a second worker finds nothing to claim, and a task delivered again after its worker died finds
the row still "sending": once that claim is older than any attempt can take, the row is marked
interrupted and not sent again (it may have reached the receiver; sending again could deliver
twice). A failed attempt waits (exponential backoff) and is retried until PLAYBOOKS_MAX_ATTEMPTS
or the delivery's deadline, then recorded as failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone as dj_tz

from analytics.playbooks import outbound
from analytics.playbooks import payload as payloads
from analytics.playbooks.models import Delivery, Play
from gocsm import metrics
from gocsm.encryption import InvalidToken, decrypt

log = logging.getLogger(__name__)

DONE = (Delivery.SENT, Delivery.FAILED, Delivery.INTERRUPTED)


@dataclass
class Step:
    """What the task does next: nothing (None) or try again in `retry_in` seconds."""

    status: str
    retry_in: float | None = None


def attempt_seconds() -> float:
    """The longest one attempt can take; a claim older than this (plus a margin) is stale."""
    return settings.PLAYBOOKS_CONNECT_TIMEOUT_SECONDS + settings.PLAYBOOKS_READ_TIMEOUT_SECONDS + 5


def backoff(attempts: int) -> float:
    base = settings.PLAYBOOKS_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), 3600)


def run_delivery(delivery_id: int, *, now=None) -> Step:
    now = now or dj_tz.now()
    d = Delivery.objects.all_agencies().filter(pk=delivery_id).first()
    if d is None or d.status in DONE:
        return Step(d.status if d else "missing")
    rows = Delivery.objects.all_agencies().filter(pk=d.pk)
    if d.status == Delivery.SENDING:
        age = (now - d.claimed_at).total_seconds() if d.claimed_at else attempt_seconds()
        if age < attempt_seconds():
            # Another worker holds the claim now; look again once it must have finished.
            return Step(d.status, retry_in=attempt_seconds() - age + 1)
        marked = rows.filter(status=Delivery.SENDING, claimed_at=d.claimed_at).update(
            status=Delivery.INTERRUPTED,
            error="the worker stopped mid-send; not sent again so it cannot arrive twice",
            finished_at=now,
        )
        if marked:
            log.warning(
                "playbook delivery interrupted",
                extra={"delivery_id": d.pk, "action": d.action, "agency_id": d.agency_id},
            )
            metrics.PLAYBOOK_DELIVERIES.labels(action=d.action, outcome="interrupted").inc()
        return Step(Delivery.INTERRUPTED)
    if now >= d.deadline:
        rows.filter(status=d.status).update(
            status=Delivery.FAILED, error=d.error or "deadline passed", finished_at=now
        )
        metrics.PLAYBOOK_DELIVERIES.labels(action=d.action, outcome="failed").inc()
        return Step(Delivery.FAILED)
    claimed = rows.filter(status=d.status, attempts=d.attempts).update(
        status=Delivery.SENDING, attempts=F("attempts") + 1, claimed_at=now
    )
    if not claimed:
        return Step("claimed elsewhere")
    d.refresh_from_db()
    code, error, ok, retryable = _send(d)
    fields = {"response_code": code, "error": error[:200]}
    if ok:
        rows.filter(status=Delivery.SENDING).update(
            status=Delivery.SENT, finished_at=dj_tz.now(), **fields
        )
        metrics.PLAYBOOK_DELIVERIES.labels(action=d.action, outcome="sent").inc()
        return Step(Delivery.SENT)
    wait = backoff(d.attempts)
    later = dj_tz.now() + timedelta(seconds=wait)
    if retryable and d.attempts < settings.PLAYBOOKS_MAX_ATTEMPTS and later < d.deadline:
        rows.filter(status=Delivery.SENDING).update(
            status=Delivery.RETRYING, next_attempt_at=later, **fields
        )
        log.info(
            "playbook delivery will be retried",
            extra={"delivery_id": d.pk, "action": d.action, "attempts": d.attempts},
        )
        return Step(Delivery.RETRYING, retry_in=wait)
    rows.filter(status=Delivery.SENDING).update(
        status=Delivery.FAILED, finished_at=dj_tz.now(), **fields
    )
    log.warning(
        "playbook delivery failed",
        extra={
            "delivery_id": d.pk,
            "action": d.action,
            "attempts": d.attempts,
            "response_code": code,
        },
    )
    metrics.PLAYBOOK_DELIVERIES.labels(action=d.action, outcome="failed").inc()
    return Step(Delivery.FAILED)


def _send(d: Delivery) -> tuple[int | None, str, bool, bool]:
    """(response code, error sentence, delivered, worth retrying)."""
    play: Play = d.play
    body = dict(d.run.payload)
    body["delivery"] = {"id": _delivery_key(d), "action": d.action, "attempt": d.attempts}
    if d.action == Delivery.EMAIL:
        return _email(d, body)
    secret_url = (
        play.ghl_webhook_secret_url if d.action == Delivery.GHL else play.slack_webhook_secret_url
    )
    if not secret_url:
        return None, "the action was switched off before it was sent", False, False
    try:
        url = decrypt(secret_url)
    except InvalidToken:
        return None, "the stored URL cannot be decrypted (key rotated away)", False, False
    data = payloads.slack_message(body) if d.action == Delivery.SLACK else body
    raw = payloads.encode(data)
    headers = {payloads.DELIVERY_HEADER: _delivery_key(d)}
    if play.signing_secret:
        headers[payloads.SIGNATURE_HEADER] = payloads.signature(decrypt(play.signing_secret), raw)
    try:
        answer = outbound.post_json(url, raw, headers)
    except outbound.Refused as exc:
        return None, f"refused: {exc}", False, False
    if answer.ok:
        return answer.status, "", True, False
    error = answer.error or f"the receiver answered {answer.status}"
    return answer.status, error, False, answer.retryable


def _delivery_key(d: Delivery) -> str:
    """Stable per play, episode and action: receivers can drop a repeat by it."""
    return f"{d.play_id}-{d.episode_id}-{d.action}"


def _email(d: Delivery, body: dict) -> tuple[int | None, str, bool, bool]:
    from analytics.playbooks import seams

    csm, _assigned = seams.csm_for(d.play.agency, d.location_ghl_id)
    if csm is None or not csm.email:
        return None, "nobody to email: no CSM or owner with an email address", False, False
    context = {"p": body}
    message = EmailMultiAlternatives(
        subject=render_to_string("playbooks/email/subject.txt", context).strip()[:200],
        body=render_to_string("playbooks/email/play.txt", context),
        from_email=settings.PLAYBOOKS_FROM_EMAIL,
        to=[csm.email],
        headers={payloads.DELIVERY_HEADER: _delivery_key(d)},
    )
    message.attach_alternative(render_to_string("playbooks/email/play.html", context), "text/html")
    try:
        sent = mailers.default.send_messages([message]) or 0
    except OSError:
        return None, "the mail server did not accept it", False, True
    except Exception as exc:  # smtplib errors derive from OSError; anything else is ours
        return None, f"sending failed ({type(exc).__name__})", False, True
    return None, "" if sent else "the mail server did not accept it", bool(sent), not sent
