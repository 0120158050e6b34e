"""Hand-computed cases taken from the written definitions (analytics.scores, analytics.risk).

Each test writes a few days of facts and activity, recomputes through the pipeline and compares
what is stored with the arithmetic done by hand in its comments.
"""

from datetime import timedelta

import numpy as np
import pytest

from analytics import scores
from analytics.models import ScoreSettings
from analytics.pipeline import refresh_agency_days
from tests.analytics.daily import AGENCY, D, facts, flags, session, stored


def test_band_edges():
    assert [scores.band_for(s) for s in (100, 76, 75, 51, 50, 26, 25, 0)] == [
        "thriving",
        "thriving",
        "healthy",
        "healthy",
        "steady",
        "steady",
        "at_risk",
        "at_risk",
    ]
    custom = {"thriving": 90, "healthy": 60, "steady": 10}
    assert [scores.band_for(s, custom) for s in (90, 89, 60, 59, 10, 9)] == [
        "thriving",
        "healthy",
        "healthy",
        "steady",
        "steady",
        "at_risk",
    ]
    # Each day's own floors: the same score 60 is Healthy under the defaults, Steady under 61.
    floors = np.array([[76, 76], [51, 61], [26, 26]])
    assert scores.band_rank(np.array([[60, 60]]), floors).tolist() == [[2, 1]]


def test_halves_round_up():
    # Half up, not Python's round() (half to even: 56.5 -> 56).
    values = np.array([56.5, 57.5, 0.5, 25.49, 75.5, 99.5])
    assert scores.round_half_up(values).tolist() == [57, 58, 1, 25, 76, 100]


def test_components_without_data_are_left_out_and_their_weight_shared():
    # login (no tracker data), engagement (younger than 31 days) and growth (nothing known on
    # D-30) have no data; adoption 25 and revenue 15 share the whole weight.
    components = np.array([[[np.nan]], [[50.0]], [[np.nan]], [[70.0]], [[np.nan]]])
    weights = np.array([[30], [25], [20], [15], [10]])
    score, parts = scores.combine(components, weights)
    # (25 * 50 + 15 * 70) / 40 = 57.5 -> 58
    assert score.tolist() == [[58]]
    assert parts[:, 0, 0].tolist()[1::2] == [31.25, 26.25]
    assert np.isnan(parts[[0, 2, 4], 0, 0]).all()
    # Nothing with data: no score.
    score, _ = scores.combine(np.full((5, 1, 1), np.nan), weights)
    assert score.tolist() == [[-1]]


@pytest.mark.django_db
def test_score_from_facts_shares_the_weight_of_missing_components():
    # Ten days old, no tracker data anywhere in the agency.
    facts(
        "LocHalf",
        10,
        workflows_published=1,
        calendars_active=0,
        conversations_total=0,
        subscription_status="trialing",
    )
    refresh_agency_days(AGENCY, D, D)
    row = stored("LocHalf")
    # adoption: workflows used, calendars not, conversations not, payments (trialing) used = 2/4
    # revenue: trialing 70, no MRR; no login, engagement or growth data.
    assert row.components == {
        "login_activity": None,
        "adoption": 50.0,
        "engagement": None,
        "revenue": 70.0,
        "growth": None,
        "sentiment": None,
    }
    # (25 * 50 + 15 * 70) / 40 = 31.25 + 26.25 = 57.5 -> 58
    assert row.contributions == {"adoption": 31.25, "revenue": 26.25}
    assert (row.score, row.band) == (58, "healthy")


@pytest.mark.django_db
def test_a_half_rounds_up_and_a_zero_weight_leaves_its_component_out():
    ScoreSettings.objects.create(
        agency_id=AGENCY,
        weights={
            "login_activity": 30,
            "adoption": 25,
            "engagement": 0,
            "revenue": 15,
            "growth": 10,
        },
    )
    facts(
        "LocHalfUp",
        60,
        users_total=lambda k: 20 if k >= 30 else 21,
        workflows_published=1,
        calendars_active=0,
        conversations_total=0,
        subscription_status="trialing",
    )
    refresh_agency_days(AGENCY, D, D)
    row = stored("LocHalfUp")
    # growth: users 20 -> 21 = +0.05 -> 50 + 50 * 0.05 = 52.5; engagement (P inside its 61 days
    # of history) V(W) = V(P) = 0 -> 0 (shown, weight 0). (25 * 50 + 15 * 70 + 10 * 52.5) / 50 = 25 + 21 + 10.5 = 56.5 -> 57.
    assert row.components["growth"] == 52.5
    assert row.components["engagement"] == 0.0
    assert row.contributions == {"adoption": 25.0, "revenue": 21.0, "growth": 10.5}
    assert row.score == 57


@pytest.mark.django_db
def test_the_window_is_d_minus_29_to_d():
    # A workflow published from day one: onboarding is not stalled.
    facts("LocIn", 59, users_total=1, workflows_published=1)
    facts("LocOut", 59, users_total=1, workflows_published=1)
    session("LocIn", 29)
    session("LocOut", 30)
    # The agency's tracker ran before P began, so sessions count in V (engagement trend).
    session("LocTracker", 60)
    refresh_agency_days(AGENCY, D, D)
    inside, outside = stored("LocIn").components, stored("LocOut").components
    # D-29 is in W: A = 1 of N = 1, r = 29 -> recency 100 * 1 / 30, one day -> Ghosting 10:
    # 0.4 * 100 + 0.3 * 3.33 + 0.3 * 10 = 44. V(W) = 1, V(P) = 0 -> engagement 100.
    assert (inside["login_activity"], inside["engagement"]) == (44.0, 100.0)
    # D-30 is in P: A = 0, r = 30 -> recency 0: login 0. V(W) = 0, V(P) = 1 -> 50 - 50 = 0.
    assert (outside["login_activity"], outside["engagement"]) == (0.0, 0.0)
    assert set(flags("LocIn")) == {"no_login_14"}
    # (30 * 0 + 25 * 50 + 20 * 0 + 10 * 50) / 85 = 20.6 -> 21: in the Critical band.
    assert set(flags("LocOut")) == {"no_login_30", "usage_down", "low_score"}


@pytest.mark.django_db
def test_revenue_compares_mrr_only_in_the_same_currency():
    facts(
        "LocSame",
        40,
        subscription_status="trialing",
        mrr_cents=lambda k: 10000 if k >= 30 else 12000,
        mrr_currency="USD",
    )
    facts(
        "LocSwitch",
        40,
        subscription_status="trialing",
        mrr_cents=lambda k: 10000 if k >= 30 else 12000,
        mrr_currency=lambda k: "USD" if k >= 30 else "EUR",
    )
    refresh_agency_days(AGENCY, D, D)
    # Same currency: 70 + 50 * (12000 - 10000) / 10000 = 80. Another currency: the base, 70.
    assert stored("LocSame").components["revenue"] == 80.0
    assert stored("LocSwitch").components["revenue"] == 70.0


@pytest.mark.django_db
def test_no_login_flags_by_days_since_the_last_session():
    for r in (6, 7, 13, 14, 29, 30):
        facts(f"LocR{r}", 0, users_total=1, workflows_published=1)
        session(f"LocR{r}", r)
    facts("LocNever", 40, users_total=1, workflows_published=1)
    facts("LocNew", 0, users_total=1, workflows_published=1)
    facts("LocNobody", 0, users_total=0, workflows_published=1)
    refresh_agency_days(AGENCY, D, D)
    found = {r: flags(f"LocR{r}") for r in (6, 7, 13, 14, 29, 30)}
    assert {r: {c for c in f if c.startswith("no_login")} for r, f in found.items()} == {
        6: set(),
        7: {"no_login_7"},
        13: {"no_login_7"},
        14: {"no_login_14"},
        29: {"no_login_14"},
        30: {"no_login_30"},
    }
    assert found[14]["no_login_14"] == f"No login for 14 days (last {D - timedelta(days=14)})"
    # No session on record: quiet since the tracker started (D-30, LocR30's session), which is
    # later than LocNever's first day; a sub-account that appeared today is not quiet yet.
    assert flags("LocNever")["no_login_30"] == (
        f"No login by the sub-account's users on record: 30 days since {D - timedelta(days=30)}"
    )
    assert not any(c.startswith("no_login") for c in flags("LocNew"))
    # No users: nobody to log in.
    assert not any(c.startswith("no_login") for c in flags("LocNobody"))


@pytest.mark.django_db
def test_usage_down_at_forty_percent():
    # Appointments: 10 in P (D-59..D-30), then 6 or 7 in W.
    booked = {6: lambda k: int(30 <= k < 40 or k < 6), 7: lambda k: int(30 <= k < 40 or k < 7)}
    facts("LocDown40", 59, workflows_published=1, appointments_booked=booked[6])
    facts("LocDown30", 59, workflows_published=1, appointments_booked=booked[7])
    refresh_agency_days(AGENCY, D, D)
    # (6 - 10) / 10 = -0.40 <= -0.40: raised; (7 - 10) / 10 = -0.30: not.
    assert flags("LocDown40") == {"usage_down": "Usage down 40 % (10 → 6 in 30 days)"}
    assert stored("LocDown40").components["engagement"] == 30.0  # 50 + 50 * -0.4
    assert flags("LocDown30") == {}


@pytest.mark.django_db
def test_payment_failed_on_past_due_and_unpaid():
    for status in ("past_due", "unpaid", "paused", "active"):
        facts(f"Loc_{status}", 0, subscription_status=status)
    refresh_agency_days(AGENCY, D, D)
    assert flags("Loc_past_due")["payment_failed"] == "Subscription is past due"
    assert flags("Loc_unpaid")["payment_failed"] == "Subscription is unpaid"
    assert "payment_failed" not in flags("Loc_paused")
    assert flags("Loc_active") == {}


@pytest.mark.django_db
def test_band_dropped_compares_with_the_band_seven_days_before():
    # Active (revenue 100, payments used: 100, Thriving) until D-7, then canceled (0, Critical).
    facts("LocFall", 10, subscription_status=lambda k: "active" if k >= 7 else "canceled")
    refresh_agency_days(AGENCY, D - timedelta(days=10), D)
    assert stored("LocFall", D - timedelta(days=7)).band == "thriving"
    assert stored("LocFall").band == "at_risk"
    assert flags("LocFall")["band_dropped"] == "Band fell from thriving to at_risk in 7 days"
    # D-1: seven days before is D-8, still Thriving; D-4 compares with D-11, which has no score.
    assert "band_dropped" in flags("LocFall", D - timedelta(days=1))
    assert "band_dropped" not in flags("LocFall", D - timedelta(days=4))


@pytest.mark.django_db
def test_the_trend_needs_both_windows_inside_the_sub_accounts_history():
    # 40 days old: P (D-59..D-30) began before it existed. Its zeros there are not "no use", so
    # one conversation a day is not "up from nothing" (engagement 100): no data yet.
    facts("LocYoung", 40, users_total=1, conversations_created=1, workflows_published=1)
    facts("LocOld", 59, users_total=1, conversations_created=1, workflows_published=1)
    refresh_agency_days(AGENCY, D, D)
    assert stored("LocYoung").components["engagement"] is None
    assert stored("LocOld").components["engagement"] == 50.0


@pytest.mark.django_db
def test_sessions_count_in_the_trend_only_once_the_tracker_covered_both_windows():
    # One conversation a day for 60 days; the tracker arrived 20 days ago and the users have
    # logged in every day since. P held no sessions because nothing tracked them then: counting
    # W's 20 sessions would read as 50 -> 80 (engagement 83). Without sessions: 30 -> 30, flat.
    facts("LocSteady", 59, users_total=1, conversations_created=1, workflows_published=1)
    for k in range(20):
        session("LocSteady", k)
    refresh_agency_days(AGENCY, D, D)
    assert stored("LocSteady").components["engagement"] == 50.0
    # Once the tracker has run since D-59, sessions count in both windows again.
    facts("LocLater", 59, users_total=1, conversations_created=1, workflows_published=1)
    for k in range(60):
        session("LocLater", k)
    refresh_agency_days(AGENCY, D, D)
    assert stored("LocLater").components["engagement"] == 50.0
    # Now the tracker saw P too, and LocSteady's users really did start logging in 20 days ago:
    # 30 -> 50 is growth (50 + 50 * 20 / 30 = 83.33).
    assert stored("LocSteady").components["engagement"] == 83.33
