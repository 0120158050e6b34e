"""Prometheus metrics: the objects other apps increment, the request middleware and `/metrics`.

Import and increment, e.g. `from gocsm import metrics; metrics.PULLS_FAILED.labels(kind="agency")
.inc()`. Label values must come from a small fixed set (never an id, a path or a message), except
`agency` on the scrape-time gauges, which is the GHL company id.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at deploy) for
every process; each writes its own files and `/metrics` merges them (see gocsm/gunicorn_conf.py).
Gauges about the stores (data age, queue length) are computed at scrape time, so every worker
answers the same.

`/metrics` answers 404 when METRICS_BEARER_TOKEN is unset (the endpoint does not exist) and 401
for a missing or wrong `Authorization: Bearer` header.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from gocsm.authguard import public

log = logging.getLogger(__name__)

# --- metrics other apps increment -------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "gocsm_http_requests",
    "HTTP requests by route (URL name, not path), method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "gocsm_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by route and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SSO_FAILURES = Counter(
    "gocsm_sso_failures",
    "SSO payloads refused (the user saw the generic 403). reason: a short fixed code such as "
    "decrypt, fields, agency, user, throttled.",
    ["reason"],
)
PULLS_STARTED = Counter(
    "gocsm_pulls_started", "Pulls from GHL started. kind: agency | location.", ["kind"]
)
PULLS_SUCCEEDED = Counter(
    "gocsm_pulls_succeeded", "Pulls from GHL that finished without error.", ["kind"]
)
PULLS_FAILED = Counter("gocsm_pulls_failed", "Pulls from GHL that ended in an error.", ["kind"])
GHL_RATE_LIMITED = Counter(
    "gocsm_ghl_rate_limited", "HTTP 429 responses received from the GHL API."
)
GHL_RETRIES = Counter(
    "gocsm_ghl_retries",
    "Retried GHL API calls. reason: rate_limited | server_error | network.",
    ["reason"],
)
TOKEN_REFRESH_FAILURES = Counter(
    "gocsm_token_refresh_failures",
    "OAuth token refreshes that failed. reason: invalid_grant | server_error | network.",
    ["reason"],
)
WEBHOOK_REJECTIONS = Counter(
    "gocsm_webhook_rejections",
    "Webhooks not applied. source: ghl | stripe; reason: signature | refused | body | duplicate"
    " (a redelivery, acknowledged with 200) | <Stripe's refusal reason>.",
    ["source", "reason"],
)
PLAYBOOK_DELIVERIES = Counter(
    "gocsm_playbook_deliveries",
    "Playbook actions finished. action: ghl_webhook | slack | email; outcome: sent | failed |"
    " interrupted (a worker died mid-send; not resent).",
    ["action", "outcome"],
)
STAFF_SIGN_IN_FAILURES = Counter(
    "gocsm_staff_sign_in_failures",
    "Failed staff sign-ins to admin. reason: password | second_factor | not_staff.",
    ["reason"],
)


# --- request middleware -----------------------------------------------------------------------
def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or "unnamed"


class RequestMetricsMiddleware:
    """Counts and times every request by URL name. Put it near the top of MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            route = _route(request)
            method = request.method if request.method in _METHODS else "OTHER"
            HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
            HTTP_LATENCY.labels(route=route, method=method).observe(time.perf_counter() - started)
        except Exception:  # metrics never break a request
            log.warning("request metrics failed", exc_info=True)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- scrape-time gauges -----------------------------------------------------------------------
# Sources of "newest data per agency": callables returning {agency_id: datetime}. accounts
# registers one reading Location.last_synced_at; the sync app may register one reading its
# SyncRun rows.
_freshness_sources: list[Callable[[], dict[int, datetime]]] = []


def register_freshness_source(source: Callable[[], dict[int, datetime]]) -> None:
    if source not in _freshness_sources:
        _freshness_sources.append(source)


# Collectors read when Prometheus scrapes. The apps above the base register theirs from their
# AppConfig.ready() (accounts.gauges: the per-agency gauges), so gocsm never imports them.
_scrape_collectors: list = []


def register_scrape_collector(collector) -> None:
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


def newest_data_by_agency() -> dict[int, datetime]:
    newest: dict[int, datetime] = {}
    for source in _freshness_sources:
        try:
            found = source()
        except Exception as exc:  # a table not migrated yet must not break the scrape
            log.warning(
                "freshness source failed",
                extra={"source": getattr(source, "__name__", "?"), "error": type(exc).__name__},
            )
            continue
        for agency_id, at in found.items():
            if at is not None and (agency_id not in newest or at > newest[agency_id]):
                newest[agency_id] = at
    return newest


def celery_queue_lengths() -> dict[str, int]:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return {}
    import redis

    queues = getattr(settings, "OPS_CELERY_QUEUES", ["celery"])
    client = redis.Redis.from_url(
        url, socket_timeout=settings.REDIS_TIMEOUT_SECONDS, socket_connect_timeout=1.0
    )
    try:
        return {q: int(client.llen(q)) for q in queues}
    finally:
        client.close()


class QueueCollector:
    """The length of each Celery queue, read from the broker when Prometheus scrapes."""

    def collect(self):
        queue = GaugeMetricFamily(
            "gocsm_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        try:
            for name, length in celery_queue_lengths().items():
                queue.add_metric([name], length)
            yield queue
        except Exception as exc:
            log.warning("queue gauge failed", extra={"error": type(exc).__name__})


def scrape_output() -> bytes:
    """The exposition text: this process's metrics (or every worker's, merged, in multiprocess
    mode) followed by the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    stores = CollectorRegistry()
    for collector in [*_scrape_collectors, QueueCollector()]:
        stores.register(collector)
    return own + generate_latest(stores)


# --- the endpoint -----------------------------------------------------------------------------
def bearer_matches(request, expected: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


@public  # its own authentication: the bearer token below (reviewed in tests/ops/public_routes.py)
@never_cache
@require_GET
def metrics_view(request):
    expected = settings.METRICS_BEARER_TOKEN
    if not expected:
        raise Http404
    if not bearer_matches(request, expected):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape_output(), content_type=CONTENT_TYPE_LATEST)
