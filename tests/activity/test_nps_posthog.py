"""An NPS comment never reaches PostHog: not when it is sent, not when the owner reads, filters
or exports the feedback page (whose own events do reach it)."""

from __future__ import annotations

import json

from django.test import Client

from analytics.models import NpsOptIn
from gocsm import product_events
from tests.activity.conftest import GHL_ORIGIN, payload_for
from tests.billing.test_product_events import posthog_server, with_pageviews  # noqa: F401

COMMENT = "Reminders-broke-ZX81 and nobody called back"


def test_a_comment_never_reaches_posthog(tenant, make_user, login, settings, posthog_server):  # noqa: F811
    agency = tenant["agency"]
    NpsOptIn.objects.create(agency_id=agency.pk, location_ghl_id="LocAlpha0001")
    owner = make_user(agency, role="owner", is_agency_owner=True, ghl_role="admin")
    with with_pageviews(settings):
        body = {
            "payload": payload_for(agency, userName="Maria Lombardi"),
            "location_id": "LocAlpha0001",
            "v": 1,
            "rating": 2,
            "comment": COMMENT,
        }
        answered = Client().post(
            "/ingest/nps/answer/",
            data=json.dumps(body),
            content_type="text/plain;charset=UTF-8",
            HTTP_ORIGIN=GHL_ORIGIN,
        )
        assert answered.status_code == 204
        client = login(owner)
        page = client.get("/app/feedback/", {"category": "detractor", "location": "LocAlpha0001"})
        assert COMMENT in page.content.decode()
        export = client.get("/app/feedback/", {"format": "csv"})
        assert COMMENT in export.content.decode()
    events = posthog_server.wait_for(3)
    product_events.flush(2)
    names = {e["event"] for e in posthog_server.events}
    assert {"page_viewed", "export_downloaded"} <= names
    raw = b"".join(posthog_server.bodies)
    assert b"ZX81" not in raw and b"Maria" not in raw
    assert all("comment" not in json.dumps(e).lower() for e in events)
