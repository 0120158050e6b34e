"""The sub-account page, read against facts whose figures are worked out by hand."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import Alert, WeightChange
from analytics.pipeline import refresh_agency_days

D = date(2026, 3, 31)


@pytest.fixture
def detail(make_agency, make_user, login):
    agency = make_agency()
    owner = make_user(agency, role="owner", name="Olive Owner")
    Location.objects.create(agency=agency, ghl_id="LocA", name="Alpha Dental")
    Location.objects.create(agency=agency, ghl_id="LocB", name="Beta Gym")
    heavy = make_user(agency, ghl_id="UHeavy", name="Hana Heavy")
    make_user(agency, ghl_id="UCasual", name="Carl Casual")
    staff = make_user(agency, ghl_id="UStaff", name="Sam Staff")
    for k in range(60):
        day = D - timedelta(days=k)
        # Plan "pro" at $297 until 5 days ago, then "basic" at $97 (an alert this week).
        plan, cents = ("basic", 9700) if k < 5 else ("pro", 29700)
        for loc in ("LocA", "LocB"):
            record_location_day(
                agency.pk,
                loc,
                day,
                LocationDayFacts(
                    users_total=3,
                    saas_plan_id=plan,
                    subscription_status="active",
                    mrr_cents=cents,
                    mrr_currency="USD",
                ),
            )
        if k < 27:  # 27 of the last 30 days: Heavy (>= 85 %)
            record_user_activity_day(
                agency.pk,
                "LocA",
                heavy.ghl_id,
                day,
                2,
                {"conversations": 20, "calendars": 5},
                False,
            )
    for k in (3, 9, 15, 21, 27, 33, 40):  # 5 of the last 30 days: Ghosting (< 20 %)
        record_user_activity_day(
            agency.pk, "LocA", "UCasual", D - timedelta(days=k), 1, {"dashboard": 4}, False
        )
    record_user_activity_day(agency.pk, "LocA", staff.ghl_id, D - timedelta(days=2), 1, {}, True)
    WeightChange.objects.create(agency_id=agency.pk, day=D - timedelta(days=5), changed_by="Olive")
    refresh_agency_days(agency.pk, D - timedelta(days=59), D)
    return agency, login(owner)


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_users_have_their_tier_days_and_last_seen_with_staff_apart(detail):
    _agency, client = detail
    text = _text(client.get(reverse("analytics:location-detail", args=["LocA"])))
    section = text[text.index("Users") : text.index("Counts by week")]
    own, staff = section.split("Agency staff who worked here")
    # The sub-account's own people, the most active first, with their tiers.
    assert "Hana Heavy Heavy 27 March 31, 2026" in own
    assert "Carl Casual Ghosting 5 March 28, 2026" in own
    assert own.index("Hana Heavy") < own.index("Carl Casual")
    assert "Sam Staff" not in own
    # Agency staff apart, in their own table: days active and last seen, no tier.
    assert "Sam Staff 1 March 29, 2026" in staff
    assert "Hana Heavy" not in staff and "Carl Casual" not in staff


def test_a_sub_account_without_agency_staff_shows_no_staff_table(detail):
    _agency, client = detail
    text = _text(client.get(reverse("analytics:location-detail", args=["LocB"])))
    assert "Agency staff who worked here" not in text


def test_activity_by_feature_sums_the_last_30_days_of_own_users(detail):
    _agency, client = detail
    text = _text(client.get(reverse("analytics:location-detail", args=["LocA"])))
    # Heavy: 27 days x 20 min conversations, x 5 min calendars, 2 sessions a day; Casual:
    # 5 days x 4 min dashboard, 1 session; staff not counted.
    # Shown as hours and minutes, the most used first.
    assert "conversations 9 h 00 min calendars 2 h 15 min dashboard 20 min" in text
    assert f"{27 * 2 + 5} sessions by the sub-account's own users" in text


def test_marker_and_subscription_history_and_flags(detail):
    agency, client = detail
    page = client.get(reverse("analytics:location-detail", args=["LocB"]), {"days": "30"})
    text = _text(page)
    assert "weights or bands changed (March 26, 2026)" in text
    assert "March 27, 2026 basic active 97.00 USD" in text
    assert "pro active 297.00 USD" in text
    # LocB has no logins at all: its flags come with the page.
    assert "No login" in text
    assert Alert.objects.for_agency(agency.pk).filter(location_ghl_id="LocB").exists()


def test_overview_lists_the_weeks_alerts_with_their_sub_account(detail):
    agency, client = detail
    text = _text(client.get(reverse("analytics:overview")))
    alert = Alert.objects.for_agency(agency.pk).get(location_ghl_id="LocB", code="downgraded")
    assert alert.day == D - timedelta(days=4)
    assert f"Beta Gym : {alert.message}" in text
    assert "Alpha Dental : Plan downgraded" in text


@pytest.mark.parametrize("days", ["7", "abc", "9" * 40])
def test_a_history_length_outside_the_choices_is_a_400(detail, days):
    _agency, client = detail
    url = reverse("analytics:location-detail", args=["LocA"])
    assert client.get(url, {"days": days}).status_code == 400
    assert client.get(url, {"days": "180"}).status_code == 200
