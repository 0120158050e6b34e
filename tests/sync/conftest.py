"""Fixtures for the GHL connection: a running fake GHL and an agency installed against it."""

from __future__ import annotations

import pytest

from sync.fakeghl import FakeGHL
from sync.scopes import SCOPES


@pytest.fixture
def fake_ghl(settings):
    """A small fake GHL world (one agency, 12 sub-accounts) with the app pointed at it."""
    fake = FakeGHL(seed=11, agencies=[("BrightPath Agency", 12), ("Northstar Growth", 5)])
    url = fake.start()
    settings.GHL_API_BASE_URL = url
    settings.GHL_MARKETPLACE_URL = url
    settings.GHL_CLIENT_ID = fake.client_id
    settings.GHL_CLIENT_SECRET = fake.client_secret
    settings.GHL_APP_ID = fake.app_id
    settings.GHL_REDIRECT_URI = "http://testserver/oauth/callback/"
    # Fast failure paths in tests; the production defaults are in settings.
    settings.GHL_RETRY_BASE_SECONDS = 0.01
    settings.GHL_RETRY_CAP_SECONDS = 0.05
    settings.GHL_READ_TIMEOUT_SECONDS = 2.0
    settings.GHL_CALL_DEADLINE_SECONDS = 20.0
    # Installs start a real pull (inline here): keep its backfill to one day so these tests stay
    # about the connection; tests/pulls covers the pulls themselves.
    settings.SYNC_BACKFILL_DAYS = 1
    from sync.ghl.ratelimit import LocalRateLimiter

    LocalRateLimiter.reset()
    yield fake
    fake.stop()


@pytest.fixture
def installed(fake_ghl, make_agency):
    """An agency installed through the fake's real OAuth grant (tokens stored encrypted)."""
    from sync.ghl import oauth
    from sync.models import Installation

    company_id = fake_ghl.company_ids[0]
    code = fake_ghl.state.issue_code(
        fake_ghl.client_id, company_id, "http://testserver/oauth/callback/", " ".join(SCOPES), "U1"
    )
    grant = oauth.exchange_code(code, "http://testserver/oauth/callback/")
    agency = make_agency(company_id=company_id, name="BrightPath Agency")
    inst = Installation(agency=agency, company_id=company_id)
    inst.store_grant(grant)
    inst.save()
    fake_ghl.clear_requests()
    return agency


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run inline so a test sees their effect (a separate test proves the real wiring)."""
    from gocsm.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


def follow_install(client, fake_ghl, start="/oauth/install/"):
    """Drive the real OAuth path: our install view -> fake consent page -> our callback."""
    import requests

    first = client.get(start)
    assert first.status_code == 302, first.status_code
    consent = requests.get(first["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = consent.headers["Location"]
    assert back.startswith("http://testserver/oauth/callback/")
    return client.get(back.removeprefix("http://testserver")), back
