"""Hand-computed scores, flags and movements from small fixtures."""

from datetime import date, timedelta

import numpy as np

from analytics import scores
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import Alert, FactRollup, HealthScore, RiskFlag
from analytics.pipeline import refresh_agency_days
from analytics.revenue import monthly_cents, movements
from analytics.rollups import recompute_rollups

D = date(2026, 3, 31)


def test_login_activity_formula():
    # 4 users, 2 active in W: one 27 days (heavy 100), one 3 days (ghosting 10); last login 3d ago
    tier_points = scores.tier_points(np.array([27, 3])).sum()
    value = scores.login_activity(np.array(True), np.array(4.0), 2, np.array(3.0), tier_points)
    assert value == 0.4 * 50 + 0.3 * (100 * 27 / 30) + 0.3 * (110 / 4)
    # No users known and nobody active: no data.
    assert np.isnan(scores.login_activity(np.array(True), np.array(np.nan), 0, np.nan, 0))


def test_yearly_price_is_divided_by_twelve():
    assert monthly_cents(120000, "year") == 10000


def test_score_from_facts_matches_hand_computation(db):
    # One sub-account, no tracker data: login activity has no data.
    for k in range(60):
        day = D - timedelta(days=k)
        record_location_day(
            1,
            "LocA",
            day,
            LocationDayFacts(
                users_total=2,
                workflows_published=1,
                calendars_active=0,
                products_total=0,
                conversations_created=1 if k < 30 else 2,
                subscription_status="active",
                mrr_cents=10000,
                mrr_currency="USD",
            ),
        )
    refresh_agency_days(1, D, D)
    row = HealthScore.objects.for_agency(1).get(day=D)
    # adoption: workflows yes, calendars no, products no, conversations yes, payments yes = 60
    # engagement: V(W)=30, V(P)=60 -> 50 + 50*(-0.5) = 25; revenue: active, flat MRR = 100
    # growth: users and workflows... only users_total, products_total, (calendars unknown) -> 50
    assert row.components == {
        "login_activity": None,
        "adoption": 60.0,
        "engagement": 25.0,
        "revenue": 100.0,
        "growth": 50.0,
        "sentiment": None,  # no NPS answer: no data, its weight shared
    }
    # (25*60 + 20*25 + 15*100 + 10*50) / 70 = 4000/70 = 57.14 -> 57
    assert row.score == 57
    assert row.band == "healthy"
    codes = set(RiskFlag.objects.for_agency(1).filter(day=D).values_list("code", flat=True))
    assert codes == {"usage_down"}


def test_no_login_flag_and_band_drop_alert(db):
    for k in range(40):
        day = D - timedelta(days=k)
        record_location_day(
            1, "LocA", day, LocationDayFacts(users_total=1, subscription_status="past_due")
        )
    record_user_activity_day(1, "LocA", "U1", D - timedelta(days=15), 2, {}, False)
    refresh_agency_days(1, D - timedelta(days=2), D)
    flags = dict(RiskFlag.objects.for_agency(1).filter(day=D).values_list("code", "evidence"))
    assert "no_login_14" in flags
    assert "15 days" in flags["no_login_14"]
    assert "payment_failed" in flags
    assert Alert.objects.for_agency(1).filter(kind="new_flag", code="payment_failed").exists()


def test_recomputing_a_range_is_idempotent(db):
    for k in range(10):
        record_location_day(
            1, "LocA", D - timedelta(days=k), LocationDayFacts(users_total=2, appointments_booked=1)
        )
    recompute_rollups(1, D - timedelta(days=9), D)
    first = sorted(
        FactRollup.objects.for_agency(1).values_list(
            "location_ghl_id", "grain", "period_start", "appointments_booked", "users_total"
        )
    )
    refresh_agency_days(1, D - timedelta(days=9), D)
    refresh_agency_days(1, D - timedelta(days=9), D)
    again = sorted(
        FactRollup.objects.for_agency(1).values_list(
            "location_ghl_id", "grain", "period_start", "appointments_booked", "users_total"
        )
    )
    assert first == again
    month = FactRollup.objects.for_agency(1).get(location_ghl_id="LocA", grain="month")
    assert (month.appointments_booked, month.period_start) == (10, date(2026, 3, 1))
    week = FactRollup.objects.for_agency(1).get(
        location_ghl_id="", grain="week", period_start=date(2026, 3, 30)
    )
    assert week.appointments_booked == 2


def test_recompute_runs_with_the_debug_query_log_on(db):
    # DEBUG formats each executed statement for its log; a bare % in the SQL (SQLite's week
    # arithmetic) used to break the recompute there, which `make run` hit.
    from django.db import connections
    from django.test.utils import override_settings

    for k in range(10):
        record_location_day(1, "LocA", D - timedelta(days=k), LocationDayFacts(users_total=2))
    with override_settings(DEBUG=True):
        connections["analytics"].queries_log.clear()
        recompute_rollups(1, D - timedelta(days=9), D)
        logged = [q["sql"] for q in connections["analytics"].queries]
    assert logged, "the query log was not on"
    week = FactRollup.objects.for_agency(1).get(
        location_ghl_id="LocA", grain="week", period_start=date(2026, 3, 30)
    )
    assert (week.users_total, week.days_reported) == (2, 2)


def test_mrr_movements_follow_chartmogul_definitions():
    jan, feb, mar, apr = (date(2026, m, 1) for m in (1, 2, 3, 4))
    month_end = {
        ("A", jan): (10000, "USD"),
        ("A", feb): (15000, "USD"),
        ("A", mar): (0, "USD"),
        ("A", apr): (5000, "USD"),
        ("B", jan): (20000, "USD"),
        ("B", feb): (8000, "USD"),
        ("B", mar): (8000, "USD"),
        ("C", feb): (3000, "USD"),
        ("E", jan): (9900, "EUR"),
    }
    by = {(m.month, m.currency): m for m in movements(month_end)}
    f = by[(feb, "USD")]
    assert (f.new, f.expansion, f.contraction, f.churn) == (3000, 5000, 12000, 0)
    assert f.nrr == round(100 * (30000 + 5000 - 12000) / 30000, 1)
    m = by[(mar, "USD")]
    assert (m.churn, m.churned_logos, m.paying_start, m.logo_churn) == (15000, 1, 3, 33.3)
    a = by[(apr, "USD")]
    assert (a.reactivation, a.new) == (5000, 0)
    assert by[(jan, "EUR")].mrr_end == 9900
    assert by[(jan, "USD")].mrr_end == 30000
