"""PostHog product analytics: only whitelisted events and properties leave, batched, off the
request path, and never about end customers."""

from __future__ import annotations

import atexit
import time

import pytest
from django.test import override_settings

from accounts.models import Location
from gocsm import product_events
from tests.billing.fakeposthog import FakePostHog, silent_listener
from tests.billing.fakestripe import closed_port

PAGEVIEWS = "gocsm.pageviews.PageViewMiddleware"
SECRET_VALUES = [
    "Acme Dental Clinic",  # a sub-account name
    "jane.customer@example.com",  # an end customer's email
    "+1 (555) 010-2233",  # a phone number
    "5550102233",  # the same phone as digits
    "Jane Customer",  # a contact's name
    "ghl_contact_9f8e7d",  # an end-customer record id
]


@pytest.fixture
def posthog_server(settings):
    fake = FakePostHog().start()
    settings.POSTHOG_API_KEY = "phc_test_project_key"
    settings.POSTHOG_HOST = fake.url
    settings.POSTHOG_FLUSH_INTERVAL_SECONDS = 0.1
    settings.POSTHOG_FLUSH_AT = 50
    yield fake
    product_events.flush(2)
    fake.stop()


def with_pageviews(settings):
    # The project wires the page-view middleware; make sure it is on exactly once.
    assert PAGEVIEWS in settings.MIDDLEWARE
    return override_settings(MIDDLEWARE=list(settings.MIDDLEWARE))


def test_event_reaches_posthog_with_identity_and_group(personas, posthog_server):
    owner = personas["owner_a"]
    assert product_events.capture(owner, "export downloaded", {"export": "health", "format": "csv"})
    (event,) = posthog_server.wait_for(1)
    assert posthog_server.paths == ["/batch/"]
    assert posthog_server.encodings == ["gzip"]
    assert event["event"] == "export_downloaded"
    assert event["distinct_id"] == owner.ghl_id
    props = event["properties"]
    assert props["$groups"] == {"agency": str(personas["agency_a"].pk)}
    assert props["$set"] == {"role": "owner", "agency_name": "BrightPath Agency"}
    assert props["export"] == "health"
    assert props["format"] == "csv"


def test_page_view_sends_the_url_name_not_the_url(
    personas, login, client, posthog_server, settings
):
    login(personas["owner_a"])
    with with_pageviews(settings):
        assert client.get("/billing/?secret=Acme+Dental").status_code == 200
    (event,) = posthog_server.wait_for(1)
    assert event["event"] == "page_viewed"
    assert event["properties"]["url_name"] == "billing:index"
    raw = b"".join(posthog_server.bodies)
    assert b"/billing/" not in raw
    assert b"Acme" not in raw


def test_error_pages_and_anonymous_requests_are_not_page_views(
    personas, login, client, posthog_server, settings
):
    with with_pageviews(settings):
        client.get("/billing/")  # anonymous: 401
        login(personas["user_a"])
        client.get("/billing/")  # 403
        client.get("/healthz")
    product_events.flush(2)
    time.sleep(0.3)
    assert posthog_server.events == []


def test_no_end_customer_value_ever_leaves(personas, posthog_server):
    agency = personas["agency_a"]
    Location.objects.create(agency=agency, ghl_id="loc_acme_1", name="Acme Dental Clinic")
    owner = personas["owner_a"]
    owner.email = "owner@brightpath.example"
    owner.save()
    poison = {
        "url_name": "Acme Dental Clinic",
        "filter": "location",
        "value": "Acme Dental Clinic",
        "location_name": "Acme Dental Clinic",
        "email": "jane.customer@example.com",
        "phone": "+1 (555) 010-2233",
        "$set": {"email": "jane.customer@example.com", "name": "Jane Customer"},
        "$current_url": "https://app.example/location/Acme",
        "contact_id": "ghl_contact_9f8e7d",
        "rows": "5550102233",
        "setting": "Jane Customer",
        "export": "jane.customer@example.com",
    }
    for name in product_events.EVENTS:
        product_events.capture(owner, name, poison)
    for value in SECRET_VALUES:
        product_events.capture(owner, "dashboard filter used", {"filter": "search", "value": value})
    product_events.capture(owner, "contact viewed", {"name": "Jane Customer"})
    product_events.capture(owner, "$identify", {"email": "jane.customer@example.com"})
    product_events.flush(5)
    events = posthog_server.wait_for(len(product_events.EVENTS) + len(SECRET_VALUES))
    assert {e["event"] for e in events} <= set(product_events.EVENTS)
    raw = b"".join(posthog_server.bodies).decode()
    for value in [*SECRET_VALUES, owner.email, "Acme"]:
        assert value not in raw
    allowed = set().union(*product_events.EVENTS.values()) | product_events.LIBRARY_PROPERTIES
    allowed |= {"$set", "$groups"}
    for event in events:
        assert set(event["properties"]) <= allowed
        assert set(event["properties"]["$set"]) <= {"role", "agency_name"}


def test_whitelisted_values_still_arrive(personas, posthog_server):
    owner = personas["owner_a"]
    product_events.capture(owner, "dashboard_filter_used", {"filter": "period", "value": "30d"})
    product_events.capture(owner, "settings changed", {"setting": "digest_frequency"})
    product_events.capture(owner, "SSO sign-in", {})
    product_events.capture(owner, "sso_signed_in", {"first_sign_in": True})
    events = posthog_server.wait_for(3)
    by_name = {e["event"]: e["properties"] for e in events}
    assert by_name["dashboard_filter_used"]["value"] == "30d"
    assert by_name["settings_changed"]["setting"] == "digest_frequency"
    assert by_name["sso_signed_in"]["first_sign_in"] is True


def test_events_are_batched(personas, posthog_server, settings):
    owner = personas["owner_a"]
    for _ in range(20):
        product_events.capture(owner, "page viewed", {"url_name": "billing:index"})
    product_events.flush(5)
    events = posthog_server.wait_for(20)
    assert len(events) == 20
    assert len(posthog_server.bodies) < 20


def test_off_without_api_key(personas, settings):
    settings.POSTHOG_API_KEY = ""
    assert product_events.client() is None
    assert product_events.capture(personas["owner_a"], "page viewed", {"url_name": "x"}) is False


@pytest.fixture
def abandon_client():
    """For tests pointing PostHog at a dead port: drop the client's exit-time flush, which would
    only log into pytest's closed streams. Its consumer threads are daemons."""
    yield
    ph = product_events.client()
    if ph is not None:
        atexit.unregister(ph._atexit)


def test_unreachable_posthog_never_slows_or_fails_a_request(
    personas, login, client, settings, abandon_client
):
    settings.POSTHOG_API_KEY = "phc_test_project_key"
    settings.POSTHOG_HOST = f"http://127.0.0.1:{closed_port()}"
    settings.POSTHOG_FLUSH_AT = 1
    login(personas["owner_a"])
    with with_pageviews(settings):
        started = time.monotonic()
        for _ in range(5):
            assert client.get("/billing/").status_code == 200
        elapsed = time.monotonic() - started
    # Generous bound: the point is that no request waited on a connection attempt and retries.
    assert elapsed < 3


def test_hung_posthog_never_slows_a_request(personas, login, client, settings, abandon_client):
    sock, port = silent_listener()
    try:
        settings.POSTHOG_API_KEY = "phc_test_project_key"
        settings.POSTHOG_HOST = f"http://127.0.0.1:{port}"
        settings.POSTHOG_FLUSH_AT = 1
        settings.POSTHOG_TIMEOUT_SECONDS = 30
        login(personas["owner_a"])
        with with_pageviews(settings):
            started = time.monotonic()
            for _ in range(5):
                assert client.get("/billing/").status_code == 200
            elapsed = time.monotonic() - started
        assert elapsed < 3
    finally:
        sock.close()


def test_capture_outside_a_session_does_nothing(posthog_server):
    from django.test import RequestFactory

    assert product_events.capture(RequestFactory().get("/"), "page viewed", {}) is False
