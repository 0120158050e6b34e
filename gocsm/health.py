"""Liveness and readiness probes. Public; they reveal which part failed, never where or why."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from gocsm.authguard import public

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@public
@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving. No I/O."""
    return JsonResponse({"status": "ok"})


def _check_database(alias: str) -> None:
    # A fresh connection per probe: a pooled one could hide a server that stopped answering.
    conn = connections.create_connection(alias)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        conn.close()


def _check_redis() -> None:
    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


def _run(check, *args) -> bool:
    future = _pool.submit(check, *args)
    try:
        future.result(timeout=CHECK_TIMEOUT_SECONDS)
    except FutureTimeout:
        log.warning("readiness check timed out", extra={"check": check.__name__})
        return False
    except Exception as exc:  # any failure means not ready; the type is enough for operators
        log.warning(
            "readiness check failed",
            extra={"check": check.__name__, "error_type": type(exc).__name__},
        )
        return False
    return True


@public
@never_cache
@require_GET
def readyz(request):
    """Both databases and Redis answer within a short timeout: 200, else 503 naming the part."""
    checks = {
        "database": lambda: _run(_check_database, "default"),
        "analytics_database": lambda: _run(_check_database, "analytics"),
        "redis": lambda: _run(_check_redis),
    }
    results = {name: ("ok" if run() else "failed") for name, run in checks.items()}
    ok = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503
    )


__all__ = ["healthz", "readyz"]
