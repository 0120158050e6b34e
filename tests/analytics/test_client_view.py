"""What a sub-account's own people read about themselves: NPS answers are given to the agency, so
a detractor shows to them unnamed (on the at-risk list, its CSV, the overview's alerts and their
sub-account's page) and the page's sentiment section is the agency's only."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.agencyclock import agency_today
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import NpsResponse
from analytics.pipeline import refresh_agency_days
from analytics.views.common import UNNAMED_DETRACTOR

SECRET_NAME = "Maria Lombardi"


@pytest.fixture
def detractor(personas, make_user):
    agency = personas["agency_a"]
    agency.timezone = "UTC"
    agency.save()
    today = agency_today(agency)
    Location.objects.create(agency=agency, ghl_id="LocL", name="Lombardi Dental")
    for k in range(40, -1, -1):
        day = today - timedelta(days=k)
        facts = LocationDayFacts(users_total=3, workflows_published=1, subscription_status="active")
        record_location_day(agency.pk, "LocL", day, facts)
        record_user_activity_day(agency.pk, "LocL", "U1", day, 2, {"dashboard": 5}, False)
    answered = today - timedelta(days=3)
    NpsResponse.objects.create(
        agency_id=agency.pk,
        location_ghl_id="LocL",
        user_ghl_id="U2",
        user_name=SECRET_NAME,
        outcome="answered",
        rating=2,
        comment="Reminders broke",
        day=answered,
        at=datetime(answered.year, answered.month, answered.day, 12, tzinfo=UTC),
    )
    refresh_agency_days(agency.pk, today - timedelta(days=40), today)
    client_user = make_user(agency, role="location", ghl_type="account", location_ids=["LocL"])
    return {"owner": personas["owner_a"], "client": client_user}


def _pages(client) -> dict[str, str]:
    return {
        "at-risk": client.get(reverse("analytics:at-risk")).content.decode(),
        "at-risk.csv": client.get(reverse("analytics:at-risk"), {"format": "csv"}).content.decode(),
        # A sub-account's own person is led on to its page (test_landing.py).
        "overview": client.get(reverse("analytics:overview"), follow=True).content.decode(),
        "location": client.get(
            reverse("analytics:location-detail", args=["LocL"])
        ).content.decode(),
    }


def test_the_agency_reads_who_rated_what(detractor, login):
    pages = _pages(login(detractor["owner"]))
    for name in ("at-risk", "at-risk.csv", "location"):
        assert f"{SECRET_NAME} rated 2/10" in pages[name], name
    assert f"{SECRET_NAME} rated 2/10" in pages["overview"]  # this week's alert
    assert "Client sentiment (NPS)" in pages["location"]
    assert "Reminders broke" in pages["location"]


def test_the_sub_accounts_own_people_read_it_unnamed(detractor, login):
    pages = _pages(login(detractor["client"]))
    for name, body in pages.items():
        assert SECRET_NAME not in body, name
        assert "2/10" not in body, name
        assert "Reminders broke" not in body, name
    for name in ("at-risk", "at-risk.csv", "location", "overview"):
        assert UNNAMED_DETRACTOR in pages[name], name
    assert "Client sentiment (NPS)" not in pages["location"]
