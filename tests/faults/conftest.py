"""Fault tests through real processes: a Celery worker and gunicorn on PostgreSQL and Redis, the
fake GHL over HTTP, and the fault put between them by a TCP proxy (tests/faults/proxy.py) or a
signal. They need the real services (tests/conftest.py `services`): CI runs them all.

Every process gets the same short timeouts and a small world, so the directory stays quick:
sub-accounts backfill 7 days, GHL listings come 2 items a page (so every listing has pages),
a call gives up after a few seconds and a task retries after about one.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from sync.fakeghl import FakeGHL
from tests.faults import procs
from tests.faults.proxy import TCPProxy, free_port

# What the worker and web processes and this test process all use.
TIMINGS = {
    "SYNC_BACKFILL_DAYS": 7,
    "SYNC_RETRY_BACKOFF_SECONDS": 1,
    "SYNC_TOKEN_MINTERS": 0,
    "GHL_PAGE_SIZE": 2,
    "GHL_CONNECT_TIMEOUT_SECONDS": 1.0,
    "GHL_READ_TIMEOUT_SECONDS": 1.0,
    "GHL_CALL_DEADLINE_SECONDS": 3.0,
    "GHL_RETRY_MAX_ATTEMPTS": 3,
    "GHL_RETRY_BASE_SECONDS": 0.05,
    "GHL_RETRY_CAP_SECONDS": 0.2,
    "GHL_MAX_RESPONSE_BYTES": 1024 * 1024,
    "GHL_REFRESH_LOCK_SECONDS": 3,
}


@pytest.fixture
def timings(settings):
    for name, value in TIMINGS.items():
        setattr(settings, name, value)
    return TIMINGS


@pytest.fixture
def ghl(settings, timings):
    """The fake GHL over HTTP on a port of our range: one agency with 6 sub-accounts today (9
    asked: its world deleted 3 clients it lost before today)."""
    fake = FakeGHL(
        seed=5,
        agencies=[("BrightPath Agency", 9), ("Northstar Growth", 3)],
        burst=100_000,
        port=free_port(),
    )
    url = fake.start()
    settings.GHL_API_BASE_URL = url
    settings.GHL_MARKETPLACE_URL = url
    settings.GHL_CLIENT_ID = fake.client_id
    settings.GHL_CLIENT_SECRET = fake.client_secret
    settings.GHL_APP_ID = fake.app_id
    settings.GHL_BURST_LIMIT = 100_000
    yield fake
    fake.stop()


@pytest.fixture
def agency(ghl, make_agency, transactional_db):
    from sync.ghl.ratelimit import LocalRateLimiter
    from tests.pulls.conftest import install

    LocalRateLimiter.reset()
    agency = install(ghl, make_agency)
    ghl.clear_requests()
    return agency


@pytest.fixture
def pg_proxy():
    """A proxy in front of PostgreSQL: the processes' database connections go through it."""
    db = django_settings.DATABASES["default"]
    proxy = TCPProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def broker():
    """The broker queue emptied before and after, and this process sending real messages."""
    from gocsm.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()
    yield app
    app.control.purge()
    app.conf.task_always_eager = old


@pytest.fixture
def spawn(tmp_path):
    """Start real processes; every one is killed at the end of the test."""
    started = []

    class Spawn:
        def worker(self, env, **kwargs):
            proc = procs.start_worker(env, tmp_path, **kwargs)
            started.append(proc)
            return proc

        def web(self, env, **kwargs):
            port = free_port()
            proc = procs.start_gunicorn(env, tmp_path, port, **kwargs)
            started.append(proc)
            return proc, f"http://127.0.0.1:{port}"

    yield Spawn()
    for proc in started:
        procs.kill(proc)


def service_env(ghl, **extra):
    return procs.service_env(ghl, **{**TIMINGS, **extra})


@pytest.fixture
def eager():
    """Run tasks inline in this process for a moment (the undisturbed reference pulls)."""
    from contextlib import contextmanager

    from gocsm.celery import app

    @contextmanager
    def inline():
        old = app.conf.task_always_eager, app.conf.task_eager_propagates
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        try:
            yield
        finally:
            app.conf.task_always_eager, app.conf.task_eager_propagates = old

    return inline


def reference_facts(agency, inline) -> list[tuple]:
    """What an undisturbed pull of the same world writes: the agency's facts and pull states are
    wiped and one pull runs inline here, without faults. Returns its fact rows."""
    from analytics.models import LocationDayFact
    from sync.models import LocationPullState
    from sync.tasks import pull_agency
    from tests.pulls.conftest import fact_rows

    LocationDayFact.objects.for_agency(agency.pk).delete()
    LocationPullState.objects.for_agency(agency).delete()
    with inline():
        pull_agency(agency.pk, reason="reference")
    return fact_rows(agency)
