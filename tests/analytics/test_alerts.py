"""One alert per event (analytics.risk, "Alerts"), and "at risk" as one flag set.

The sub-accounts here are steered through two adoption features and the subscription: with
status active (revenue 100, payments used) a published workflow gives adoption 100 and a score
of 100 (Thriving); no published workflow gives adoption 50 and (25 * 50 + 15 * 100) / 40 =
68.75 -> 69 (Healthy). Canceled with nothing published scores 0 (Critical).
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.models import Alert, LocationState, RiskFlag
from analytics.pipeline import refresh_agency_days
from tests.analytics.daily import AGENCY, D, alerts, facts, flags, session, stored


def band_alerts(loc: str) -> list[tuple]:
    return [a for a in alerts(loc) if a[1] == Alert.KIND_BAND_DROP]


@pytest.mark.django_db
def test_a_score_flapping_across_a_band_edge_raises_no_alert():
    # Thriving on even days back, Healthy on odd ones, for three weeks.
    facts("LocFlap", 21, subscription_status="active", workflows_published=lambda k: 1 - k % 2)
    refresh_agency_days(AGENCY, D - timedelta(days=21), D)
    assert [stored("LocFlap", D - timedelta(days=k)).band for k in (2, 1, 0)] == [
        "thriving",
        "healthy",
        "thriving",
    ]
    # Neither band ever holds three days in a row: no band is confirmed, so no band_dropped flag
    # (Healthy one day, Thriving seven days before, is noise) and no alert.
    assert all("band_dropped" not in flags("LocFlap", D - timedelta(days=k)) for k in range(21))
    assert alerts("LocFlap") == []


@pytest.mark.django_db
def test_a_drop_that_holds_alerts_once_on_its_third_day():
    facts(
        "LocDrop",
        20,
        subscription_status="active",
        workflows_published=lambda k: 1 if k >= 10 else 0,
    )
    refresh_agency_days(AGENCY, D - timedelta(days=20), D)
    # Healthy from D-9; D-7 is its third day in a row.
    assert alerts("LocDrop") == [
        (7, "band_drop", "healthy", "Score fell to 69: Thriving → Healthy (3 days in a row)")
    ]


@pytest.mark.django_db
def test_a_drop_into_at_risk_is_one_alert_and_a_low_score_flag():
    facts(
        "LocLow",
        20,
        subscription_status=lambda k: "active" if k >= 10 else "canceled",
        workflows_published=lambda k: 1 if k >= 10 else 0,
    )
    refresh_agency_days(AGENCY, D - timedelta(days=20), D)
    assert stored("LocLow").score == 0
    # The band-drop alert says where it fell to; low_score and band_dropped add none.
    assert alerts("LocLow") == [
        (7, "band_drop", "at_risk", "Score fell to 0: Thriving → Critical (3 days in a row)")
    ]
    low = RiskFlag.objects.for_agency(AGENCY).get(location_ghl_id="LocLow", day=D, code="low_score")
    assert (low.weight, low.evidence) == (0.50, "Health score 0 is in the Critical band (below 26)")
    assert "low_score" not in flags("LocLow", D - timedelta(days=10))


@pytest.mark.django_db
def test_a_flag_alerts_once_per_episode_across_recompute_ranges():
    past_due = {35, 34, 33, 29, 28, 25, 15, 14, 13, 8}
    facts(
        "LocPay",
        40,
        workflows_published=1,
        subscription_status=lambda k: "past_due" if k in past_due else "active",
    )
    refresh_agency_days(AGENCY, D - timedelta(days=40), D - timedelta(days=10))
    refresh_agency_days(AGENCY, D - timedelta(days=9), D)
    # 35: new. 29 and 25: raised within the 7 days before. 15: none of the 9 days before.
    # 8: D-13 (the earlier range) is within its 7 days before.
    assert [a[0] for a in alerts("LocPay") if a[2] == "payment_failed"] == [35, 15]


@pytest.mark.django_db
def test_each_escalation_of_no_login_is_an_event():
    facts("LocQuiet", 40, users_total=1, workflows_published=1, subscription_status="active")
    session("LocQuiet", 40)
    refresh_agency_days(AGENCY, D - timedelta(days=36), D)
    # r = 7 on D-33, 14 on D-26, 30 on D-10.
    assert [(a[0], a[2]) for a in alerts("LocQuiet") if a[2].startswith("no_login")] == [
        (33, "no_login_7"),
        (26, "no_login_14"),
        (10, "no_login_30"),
    ]


@pytest.mark.django_db
def test_alerts_are_the_same_however_the_days_are_recomputed():
    facts("LocFlap", 25, subscription_status="active", workflows_published=lambda k: 1 - k % 2)
    facts("LocDrop", 25, subscription_status="active", workflows_published=lambda k: int(k >= 12))
    refresh_agency_days(AGENCY, D - timedelta(days=25), D)
    whole = alerts("LocFlap") + alerts("LocDrop")
    for first, last in ((25, 13), (12, 11), (10, 0)):
        refresh_agency_days(AGENCY, D - timedelta(days=first), D - timedelta(days=last))
    assert alerts("LocFlap") + alerts("LocDrop") == whole
    assert [a[:3] for a in whole] == [(9, "band_drop", "healthy")]


@pytest.mark.django_db
def test_a_sub_account_in_the_at_risk_band_is_on_the_at_risk_list(personas, login):
    agency = personas["agency_a"]
    Location.objects.create(agency=agency, ghl_id="LocLow", name="Lowly Plumbing")
    Location.objects.create(agency=agency, ghl_id="LocFine", name="Fine Dental")
    # A calendar active on its first day (onboarding not stalled) but nothing booked: adoption
    # 0 of 3 features, revenue 0 (canceled): score 0.
    facts(
        "LocLow",
        20,
        agency=agency.pk,
        subscription_status="canceled",
        workflows_published=0,
        calendars_active=lambda k: int(k == 20),
    )
    facts("LocFine", 20, agency=agency.pk, subscription_status="active", workflows_published=1)
    refresh_agency_days(agency.pk, D - timedelta(days=20), D)
    state = LocationState.objects.for_agency(agency.pk).get(location_ghl_id="LocLow")
    assert (state.band, state.flag_codes, state.risk_weight) == ("at_risk", ",low_score,", 0.5)
    page = login(personas["owner_a"]).get(reverse("analytics:at-risk")).content.decode()
    assert "Lowly Plumbing" in page
    assert "Health score in the Critical band" in page
    assert "Fine Dental" not in page


@pytest.mark.django_db
def test_band_dropped_flags_a_confirmed_drop_into_steady_not_thriving_to_healthy():
    # LocSlip: Thriving, then Healthy from D-9 (held): no churn-risk flag for that drop.
    facts("LocSlip", 20, subscription_status="active", workflows_published=lambda k: int(k >= 10))
    # LocFall: Healthy until D-5 (trialing 70, adoption 2 of 3: (25 * 66.7 + 15 * 70) / 40 =
    # 68), then Steady (past due 30, adoption 1 of 3: 32), held: flagged while the drop is recent.
    facts(
        "LocFall",
        20,
        subscription_status=lambda k: "trialing" if k >= 5 else "past_due",
        workflows_published=lambda k: int(k >= 5),
        calendars_active=0,
    )
    refresh_agency_days(AGENCY, D - timedelta(days=20), D)
    assert all("band_dropped" not in flags("LocSlip", D - timedelta(days=k)) for k in range(21))
    bands = [stored("LocFall", D - timedelta(days=k)).band for k in (6, 3)]
    assert bands == ["healthy", "steady"]
    # Steady from D-4: confirmed on D-2 (its third day), not before.
    assert "band_dropped" not in flags("LocFall", D - timedelta(days=3))
    assert flags("LocFall", D - timedelta(days=2))["band_dropped"] == (
        "Band fell from healthy to steady in 7 days"
    )
