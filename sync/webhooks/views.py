"""POST /webhooks/ghl/: cap, verify, parse, de-duplicate, enqueue. Answers in milliseconds.

401 for a bad signature, a foreign appId or a stale timestamp; 400 for a signed but malformed
body; in every refusal nothing is written. A webhookId already accepted is acknowledged with 200
and nothing more happens: GHL retries any delivery that did not get a 2xx, so refusing a
duplicate would only bring it back again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gocsm import metrics
from gocsm.authguard import public
from gocsm.errors import error_response
from sync.models import WebhookReceipt
from sync.webhooks import events
from sync.webhooks.signatures import verify

logger = logging.getLogger(__name__)


def _read_capped(request) -> bytes | None:
    cap = settings.GHL_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if declared > cap:
        return None
    body = request.read(cap + 1)
    return body if len(body) <= cap else None


@public
@csrf_exempt
@require_POST
def receive(request):
    body = _read_capped(request)
    if body is None:
        metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="body").inc()
        return error_response(request, 413)
    if not verify(
        body, request.headers.get("x-ghl-signature"), request.headers.get("x-wh-signature")
    ):
        logger.warning("ghl webhook refused: bad signature")
        metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="signature").inc()
        return error_response(request, 401)
    try:
        event = events.parse(body)
    except events.Refused as exc:
        logger.warning("ghl webhook refused: %s", exc)
        metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="refused").inc()
        return error_response(request, 401)
    except events.Malformed as exc:
        logger.warning("ghl webhook malformed: %s", exc)
        metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="body").inc()
        return error_response(request, 400)
    if event.get("ignored"):
        return JsonResponse({"status": "ignored"})
    try:
        with transaction.atomic():
            receipt = WebhookReceipt.objects.create(
                webhook_id=event["webhook_id"],
                event_type=event["type"],
                company_id=event["company_id"],
                location_id=event["location_id"],
            )
    except IntegrityError:
        metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="duplicate").inc()
        logger.info("ghl webhook duplicate acknowledged")
        return JsonResponse({"status": "duplicate"})
    if event["type"] == "UNINSTALL" and not event["location_id"]:
        _delete_tokens_now(event["company_id"])
        _end_sessions_now(event["company_id"])
    from sync.webhooks.tasks import process_event

    try:
        process_event.delay(receipt.pk, event)
    except Exception:
        # Broker down: forget the receipt so GHL's retry is accepted and processed.
        logger.exception("ghl webhook could not be queued")
        WebhookReceipt.objects.filter(pk=receipt.pk).delete()
        return error_response(request, 503)
    return JsonResponse({"status": "accepted"})


def _end_sessions_now(company_id: str) -> None:
    """UNINSTALL: the agency's sessions end at once too; the task ends them again when it runs
    (any started in between)."""
    from accounts.models import Agency
    from accounts.revocation import end_agency_sessions

    agency = Agency.objects.filter(company_id=company_id).first()
    if agency is not None:
        end_agency_sessions(agency.pk)


def _delete_tokens_now(company_id: str) -> None:
    """UNINSTALL: the tokens go at once, not when the queue gets to it."""
    from sync.models import Installation

    with transaction.atomic():
        inst = Installation.objects.select_for_update().filter(company_id=company_id).first()
        if inst is not None and inst.has_tokens:
            inst.wipe_tokens()
            inst.save()
