"""Fixtures for the pulls: the connection's fake GHL and installed agency, eager Celery."""

from __future__ import annotations

import pytest

from sync.fakeghl import FakeGHL
from sync.scopes import SCOPES

REDIRECT = "http://testserver/oauth/callback/"


@pytest.fixture
def ghl(settings):
    """A fake GHL (two agencies) whose limits are far above what a test sends, so tests run fast;
    tests about limits turn them down. Our client's budget follows the fake's."""
    fake = FakeGHL(
        seed=5, agencies=[("BrightPath Agency", 6), ("Northstar Growth", 3)], burst=100_000
    )
    url = fake.start()
    settings.GHL_API_BASE_URL = url
    settings.GHL_MARKETPLACE_URL = url
    settings.GHL_CLIENT_ID = fake.client_id
    settings.GHL_CLIENT_SECRET = fake.client_secret
    settings.GHL_APP_ID = fake.app_id
    settings.GHL_REDIRECT_URI = REDIRECT
    settings.GHL_BURST_LIMIT = 100_000
    settings.GHL_RETRY_BASE_SECONDS = 0.01
    settings.GHL_RETRY_CAP_SECONDS = 0.05
    settings.GHL_READ_TIMEOUT_SECONDS = 2.0
    settings.GHL_CALL_DEADLINE_SECONDS = 5.0
    yield fake
    fake.stop()


def install(fake, make_agency, company_index=0):
    """An agency installed with a real grant from the fake (tokens stored encrypted)."""
    from sync.ghl import oauth
    from sync.models import Installation

    company_id = fake.company_ids[company_index]
    code = fake.state.issue_code(fake.client_id, company_id, REDIRECT, " ".join(SCOPES), "U1")
    grant = oauth.exchange_code(code, REDIRECT)
    agency = make_agency(
        company_id=company_id,
        name=fake.world.agencies[company_id].name,
        timezone="America/Chicago",
        currency=fake.world.agencies[company_id].currency,
    )
    inst = Installation(agency=agency, company_id=company_id)
    inst.store_grant(grant)
    inst.save()
    return agency


@pytest.fixture
def agency(ghl, make_agency):
    agency = install(ghl, make_agency)
    ghl.clear_requests()
    return agency


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run inline; tests/pulls/test_worker.py proves the wiring through a real worker."""
    from gocsm.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture(autouse=True)
def _fresh_limiter():
    from sync.ghl.ratelimit import LocalRateLimiter

    LocalRateLimiter.reset()


def fact_rows(agency) -> list[tuple]:
    """Every stored fact of the agency, as comparable tuples (no timestamps)."""
    from analytics.ingest import _FACT_FIELDS
    from analytics.models import LocationDayFact

    return sorted(
        LocationDayFact.objects.for_agency(agency.pk)
        .order_by()
        .values_list("location_ghl_id", "day", *_FACT_FIELDS)
    )


def location_rows(agency) -> list[tuple]:
    from accounts.models import GHLUser, Location

    locs = sorted(
        Location.objects.for_agency(agency).values_list(
            "ghl_id", "name", "status", "is_installed", "saas_plan_id", "subscription_status"
        )
    )
    users = sorted(
        GHLUser.objects.for_agency(agency).values_list(
            "ghl_id", "role", "ghl_type", "location_ids", "restrict_sub_account", "deleted"
        ),
        key=repr,
    )
    return [*locs, *users]
