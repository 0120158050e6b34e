"""Every page is written by Django templates, so every value from GHL is escaped by the template
engine: a sub-account, a person and a plan named like markup show as text on every page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.pipeline import refresh_agency_days
from tests.analytics.conftest import TODAY

EVIL = """<img src=x onerror="alert(1)">'&"""
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#x27;&amp;"


@pytest.fixture
def evil(personas, make_user):
    agency = personas["agency_a"]
    Location.objects.create(agency=agency, ghl_id="LocEvil", name=EVIL)
    own = make_user(agency, ghl_id="UEvil", name=EVIL, role="location", ghl_type="account")
    staff = make_user(agency, ghl_id="UStaffEvil", name=EVIL + " staff")
    for k in range(40):
        day = TODAY - timedelta(days=k)
        record_location_day(
            agency.pk,
            "LocEvil",
            day,
            LocationDayFacts(
                users_total=2,
                saas_plan_id=EVIL,
                subscription_status="past_due",  # flagged: it shows on the at-risk page
                mrr_cents=9700 if k > 3 else 4700,
                mrr_currency="USD",
            ),
        )
        if k % 2 and k > 10:
            record_user_activity_day(agency.pk, "LocEvil", own.ghl_id, day, 1, {"sites": 3}, False)
    record_user_activity_day(agency.pk, "LocEvil", staff.ghl_id, TODAY, 1, {}, True)
    refresh_agency_days(agency.pk, TODAY - timedelta(days=39), TODAY)
    return personas


PAGES = [
    reverse("analytics:overview"),
    reverse("analytics:overview") + "?q=img",
    reverse("analytics:at-risk"),
    reverse("analytics:adoption"),
    reverse("analytics:logins"),
    reverse("analytics:location-detail", args=["LocEvil"]),
]


@pytest.mark.parametrize("url", PAGES)
def test_markup_in_names_is_shown_as_text(evil, login, url):
    body = login(evil["owner_a"]).get(url).content.decode()
    assert EVIL not in body
    assert "<img" not in body
    assert ESCAPED in body


def test_the_sub_account_page_escapes_people_staff_and_plan(evil, login):
    body = (
        login(evil["owner_a"])
        .get(reverse("analytics:location-detail", args=["LocEvil"]))
        .content.decode()
    )
    assert body.count(ESCAPED) >= 4  # title, heading, its user, the plan in its subscription
    assert ESCAPED + " staff" in body  # the agency staff table
    assert "<img" not in body


def test_overview_alerts_escape_the_sub_account_name(evil, login):
    body = login(evil["owner_a"]).get(reverse("analytics:overview")).content.decode()
    alerts = body[body.index("Alerts this week") : body.index("Sub-accounts</h2>")]
    assert ESCAPED in alerts
