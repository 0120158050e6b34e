"""The tracker script and the beacon endpoint, both public (tests/activity/public_routes.py).

CORS choice: beacons are *simple* cross-origin requests (POST, `text/plain` body, no custom
headers, no credentials), so browsers send them without a preflight. Answers carry
`Access-Control-Allow-Origin` for GHL's origins and agencies' white-label domains only, so the
tracker can read the status (to back off on 429 or stop on 403); OPTIONS is answered too, for
clients that preflight anyway. Origin never authenticates a beacon: the encrypted payload does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from gocsm.authguard import public
from gocsm.errors import ERROR_CODES, MESSAGES
from sync.activity import BeaconRejected, allowed_origin, count_beacon, parse_beacon
from sync.activity_store import CounterStoreUnavailable, counter_store

log = logging.getLogger(__name__)
TRACKER_SOURCE = Path(settings.BASE_DIR) / "static" / "js" / "tracker" / "tracker.js"
IMMUTABLE_SECONDS = 365 * 24 * 3600
_rendered: dict[tuple, tuple[bytes, str]] = {}


def _public_origin(request) -> str:
    return settings.PUBLIC_ORIGIN.rstrip("/") or f"{request.scheme}://{request.get_host()}"


def _sibling_url(request, name: str) -> str:
    namespace = request.resolver_match.namespace if request.resolver_match else ""
    return reverse(f"{namespace}:{name}" if namespace else name)


def render_tracker(app_id: str, endpoint: str, nps_endpoint: str = "") -> tuple[bytes, str]:
    """The tracker with its constants filled in, and a short hash of it (the cache version).
    `nps_endpoint` is the NPS prompt's base URL (its routes are ask/, answer/ and dismiss/)."""
    constants = {
        "APP_ID": app_id,
        "ENDPOINT": endpoint,
        "NPS_ENDPOINT": nps_endpoint or endpoint.replace("/ingest/activity/", "/ingest/nps/"),
        "HEARTBEAT_MS": settings.ACTIVITY_HEARTBEAT_SECONDS * 1000,
        "NPS_DELAY_MS": settings.NPS_PROMPT_DELAY_SECONDS * 1000,
    }
    key = (*constants.values(), TRACKER_SOURCE.stat().st_mtime_ns)
    if key not in _rendered:
        body = TRACKER_SOURCE.read_text(encoding="utf-8")
        for name, value in constants.items():
            placeholder = f'"__GOCSM_{name}__"'
            if placeholder not in body:
                raise RuntimeError(f"tracker.js lost its {name} placeholder")
            # json.dumps gives a JS literal; "</" cannot occur in these values.
            body = body.replace(placeholder, json.dumps(value))
        data = body.encode("utf-8")
        _rendered[key] = (data, hashlib.sha256(data).hexdigest()[:16])
    return _rendered[key]


def _nps_endpoint(request) -> str:
    """The base URL of the NPS prompt's routes (…/ask/ -> …/)."""
    return _public_origin(request) + _sibling_url(request, "nps-ask").removesuffix("ask/")


def tracker_url(request) -> str:
    """The versioned URL agencies paste into GHL's Custom JS (as `<script src=... async>`)."""
    endpoint = _public_origin(request) + _sibling_url(request, "ingest")
    _, version = render_tracker(settings.GHL_APP_ID, endpoint, _nps_endpoint(request))
    return f"{_public_origin(request)}{_sibling_url(request, 'tracker')}?v={version}"


@public
@require_GET
def tracker_js(request):
    """The Custom JS tracker. `?v=<current hash>` is cached for a year; any other URL briefly."""
    endpoint = _public_origin(request) + _sibling_url(request, "ingest")
    body, version = render_tracker(settings.GHL_APP_ID, endpoint, _nps_endpoint(request))
    etag = f'"{version}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    if request.GET.get("v") == version:
        response["Cache-Control"] = f"public, max-age={IMMUTABLE_SECONDS}, immutable"
    else:
        response["Cache-Control"] = f"public, max-age={settings.ACTIVITY_TRACKER_CACHE_SECONDS}"
    response["ETag"] = etag
    # GHL's pages load it from another origin.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _with_cors(request, response):
    origin = request.headers.get("Origin", "")
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    # Answered before the content policy (sync/beaconpath.py), so nobody may frame it this way.
    response["X-Frame-Options"] = "DENY"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    try:
        allowed = allowed_origin(origin)
    except DatabaseError:
        allowed = origin in settings.GHL_FRAME_ORIGINS
    if allowed:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _answer(request, status: int, retry_after: int | None = None):
    if status == 204:
        response = HttpResponse(status=204)
    else:
        response = JsonResponse(
            {"error": ERROR_CODES.get(status, "error"), "message": MESSAGES.get(status, "")},
            status=status,
        )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return _with_cors(request, response)


def _reject(request, exc: BeaconRejected):
    # The reason code only: never the body, the payload or what it decrypted to.
    log.info("activity beacon rejected", extra={"reason": exc.reason, "status": exc.status})
    with contextlib.suppress(CounterStoreUnavailable):
        counter_store().count_rejection(exc.reason)
    return _answer(request, exc.status)


def _preflight(request):
    response = _answer(request, 204)
    if response.has_header("Access-Control-Allow-Origin"):
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    return response


def method_refusal(request):
    """The tracker's endpoints take POST and its CORS preflight: the answer to the preflight or
    to any other method, None for a POST."""
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        response = _answer(request, 405)
        response["Allow"] = "POST, OPTIONS"
        return response
    return None


def length_refusal(request, limit: int) -> tuple[int, str] | None:
    """(status, reason) when the declared body is over `limit` bytes or its length is not a
    number; the body is then never read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, "bad_length"
    if length > limit:
        return 413, "too_large"
    return (400, "bad_length") if length < 0 else None


@public
@csrf_exempt
def ingest_activity(request):
    """POST one beacon: 204 counted, 400 malformed, 403 not ours, 413 too big, 429 over the user's
    rate, 503 when Redis or the database is down (nothing counted; the tracker just carries on)."""
    if (refusal := method_refusal(request)) is not None:
        return refusal
    limit = settings.ACTIVITY_MAX_BODY_BYTES
    try:
        if refused := length_refusal(request, limit):
            raise BeaconRejected(*refused)
        beacon = parse_beacon(request.read(limit + 1))
        counted = count_beacon(beacon)
    except BeaconRejected as exc:
        return _reject(request, exc)
    except (CounterStoreUnavailable, DatabaseError) as exc:
        log.warning("activity beacon not counted", extra={"error_type": type(exc).__name__})
        return _answer(request, 503, retry_after=30)
    if not counted:
        log.info("activity beacon rejected", extra={"reason": "rate_limited", "status": 429})
        return _answer(request, 429, retry_after=math.ceil(60 / settings.ACTIVITY_RATE_PER_MINUTE))
    return _answer(request, 204)
