"""The NPS prompt's endpoints, public like the beacon one (tests/activity/public_routes.py) and
authenticated the same way, by the encrypted payload in the body (sync/sentiment.py).

All three are POST with a `text/plain` JSON body (simple CORS requests, no cookies): the payload
never travels in a URL, where access logs would keep it.
- ask:     200 {"ask": true, "agency": "<agency name>", "comment_max": 1000} or {"ask": false}
- answer:  204 stored (and today's score recomputed)
- dismiss: 204 stored (the person is not asked again until the wait is over)
Refusals are JSON {"error", "reason", "message"}; a 403 for the payload, the agency or the
sub-account says no more than "forbidden".
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from analytics.models import NPS_COMMENT_MAX
from gocsm.authguard import public
from gocsm.errors import ERROR_CODES, MESSAGES
from sync import sentiment
from sync.activity_store import CounterStoreUnavailable
from sync.activity_views import _answer, _with_cors, length_refusal, method_refusal

log = logging.getLogger(__name__)
# Reasons a caller may learn; any other refusal is a bare 403.
_TOLD = frozenset({"agency_staff", "not_enabled", "already_answered"})
_LENGTH_MESSAGES = {"too_large": "The request is too large.", "bad_length": "Bad Content-Length."}


def _refused(request, exc: sentiment.NpsRefused):
    # The reason code only: never the body, the payload or what it decrypted to.
    log.info("nps request refused", extra={"reason": exc.reason, "status": exc.status})
    body = {"error": ERROR_CODES.get(exc.status, "error")}
    if exc.status != 403 or exc.reason in _TOLD:
        body["reason"] = exc.reason
        body["message"] = exc.message or MESSAGES.get(exc.status, "")
    else:
        body["message"] = MESSAGES[403]
    return _with_cors(request, JsonResponse(body, status=exc.status))


def _handle(request, action: str):
    if (refusal := method_refusal(request)) is not None:
        return refusal
    limit = settings.NPS_MAX_BODY_BYTES
    try:
        if refused := length_refusal(request, limit):
            raise sentiment.NpsRefused(*refused, _LENGTH_MESSAGES[refused[1]])
        parsed = sentiment.parse(request.read(limit + 1), answer=action == "answer")
        asker = sentiment.identify(parsed)
        if not sentiment.within_rate(asker):
            log.info("nps request refused", extra={"reason": "rate_limited", "status": 429})
            wait = math.ceil(60 / settings.NPS_RATE_PER_MINUTE)
            return _answer(request, 429, retry_after=wait)
        if action == "ask":
            if sentiment.ask(asker):
                body = {"ask": True, "agency": asker.agency_name, "comment_max": NPS_COMMENT_MAX}
            else:
                body = {"ask": False}
            return _with_cors(request, JsonResponse(body))
        sentiment.record(asker, parsed, dismissed=action == "dismiss")
    except sentiment.NpsRefused as exc:
        return _refused(request, exc)
    except (CounterStoreUnavailable, DatabaseError) as exc:
        log.warning("nps request not handled", extra={"error_type": type(exc).__name__})
        return _answer(request, 503, retry_after=30)
    return _answer(request, 204)


@public
@csrf_exempt
def nps_ask(request):
    """POST: may the tracker show this person the NPS prompt now?"""
    return _handle(request, "ask")


@public
@csrf_exempt
def nps_answer(request):
    """POST: the person's rating 0-10 and optional comment."""
    return _handle(request, "answer")


@public
@csrf_exempt
def nps_dismiss(request):
    """POST: the person closed the prompt without answering."""
    return _handle(request, "dismiss")
