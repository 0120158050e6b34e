"""A sub-account's state on a day (analytics.daystate), against hand-worked histories.

Each test writes a few fact and activity rows, runs the real recompute, and reads the stored
LocationDay rows and the figures the pages read (LocationState, PortfolioState)."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts import lifecycle
from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import (
    HealthScore,
    LocationDay,
    LocationState,
    ManualMRR,
    PortfolioState,
    RiskFlag,
)
from analytics.pipeline import refresh_agency_days
from analytics.revenue import month_end_mrr, movements

D = date(2026, 3, 31)


def day(n: int) -> date:
    """n days before D."""
    return D - timedelta(days=n)


def sub(status, cents, currency="USD", plan="gold"):
    return LocationDayFacts(
        saas_plan_id=plan, subscription_status=status, mrr_cents=cents, mrr_currency=currency
    )


def states(agency, loc="L1") -> dict[date, LocationDay]:
    return {s.day: s for s in LocationDay.objects.for_agency(agency.pk).filter(location_ghl_id=loc)}


@pytest.fixture
def agency(make_agency):
    agency = make_agency(timezone="UTC")
    Location.objects.create(agency=agency, ghl_id="L1", name="Alpha Dental")
    return agency


def test_a_day_without_a_pull_carries_the_last_known_mrr(agency):
    record_location_day(agency.pk, "L1", day(10), sub("active", 41417))
    # Backfilled rows without subscription fields, and days with no row at all.
    record_location_day(agency.pk, "L1", day(8), LocationDayFacts(conversations_created=3))
    refresh_agency_days(agency.pk, day(10), D)
    rows = states(agency)
    assert sorted(rows) == [day(k) for k in range(10, -1, -1)]
    assert {r.mrr_cents for r in rows.values()} == {41417}
    assert {r.mrr_source for r in rows.values()} == {"ghl"}
    state = LocationState.objects.for_agency(agency.pk).get(location_ghl_id="L1")
    assert (state.mrr_cents, state.currency, state.mrr_source) == (41417, "USD", "ghl")
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    assert portfolio.mrr_totals == {"USD": 41417}
    # The daily MRR series has the figure on every day, not only on pull days.
    assert set(portfolio.mrr_daily["USD"].values()) == {41417}
    assert len(portfolio.mrr_daily["USD"]) == 11


def test_days_before_the_first_fact_or_activity_have_no_state_and_no_score(agency):
    record_user_activity_day(agency.pk, "L1", "U1", day(3), 1, {"conversations": 5}, False)
    record_location_day(agency.pk, "L1", day(2), LocationDayFacts(users_total=2))
    refresh_agency_days(agency.pk, day(20), D)
    assert min(states(agency)) == day(3)
    assert min(HealthScore.objects.for_agency(agency.pk).values_list("day", flat=True)) >= day(3)


def test_a_sub_account_without_a_ghl_subscription_is_not_billed_in_ghl_not_free(agency):
    record_location_day(agency.pk, "L1", day(5), sub("none", 0, plan=""))
    refresh_agency_days(agency.pk, day(5), D)
    s = states(agency)[D]
    assert (s.mrr_cents, s.mrr_source) == (None, "none")
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    assert portfolio.mrr_totals == {}
    assert portfolio.billing_counts == {"none": 1}


def test_manual_mrr_counts_where_ghl_has_none_and_ghl_wins_where_both_exist(agency):
    record_location_day(agency.pk, "L1", day(40), sub("none", 0, plan=""))
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="L1", since=None, mrr_cents=50000, currency="EUR"
    )
    record_location_day(agency.pk, "L1", day(9), sub("active", 9700))
    refresh_agency_days(agency.pk, day(40), D)
    rows = states(agency)
    assert (rows[day(10)].mrr_cents, rows[day(10)].currency, rows[day(10)].mrr_source) == (
        50000,
        "EUR",
        "manual",
    )
    assert (rows[day(9)].mrr_cents, rows[day(9)].currency, rows[day(9)].mrr_source) == (
        9700,
        "USD",
        "ghl",
    )


def test_a_manual_entry_applies_from_its_day_and_an_empty_one_ends_it(agency):
    record_location_day(agency.pk, "L1", day(30), LocationDayFacts(users_total=1))
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="L1", since=None, mrr_cents=20000, currency="USD"
    )
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="L1", since=day(20), mrr_cents=25000, currency="USD"
    )
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="L1", since=day(5), mrr_cents=None, currency=""
    )
    refresh_agency_days(agency.pk, day(30), D)
    rows = states(agency)
    assert rows[day(30)].mrr_cents == 20000
    assert rows[day(21)].mrr_cents == 20000
    assert rows[day(20)].mrr_cents == 25000
    assert rows[day(6)].mrr_cents == 25000
    assert (rows[day(5)].mrr_cents, rows[day(5)].mrr_source) == (None, "none")


def test_unpaid_counts_as_mrr_and_trial_does_not(agency):
    record_location_day(agency.pk, "L1", day(3), sub("unpaid", 9700))
    record_location_day(agency.pk, "L1", day(1), sub("trialing", 9700))
    refresh_agency_days(agency.pk, day(3), D)
    rows = states(agency)
    assert rows[day(2)].mrr_cents == 9700
    assert rows[day(1)].mrr_cents == 0
    assert rows[day(1)].lifecycle == "onboarding"  # never paid before: not churned


def test_lifecycle_onboarding_for_the_first_30_days_then_connected(agency):
    record_location_day(agency.pk, "L1", day(40), LocationDayFacts(users_total=1))
    refresh_agency_days(agency.pk, day(40), D)
    rows = states(agency)
    assert rows[day(40)].lifecycle == "onboarding"
    assert rows[day(11)].lifecycle == "onboarding"  # its 30th day
    assert rows[day(10)].lifecycle == "connected"
    assert all(r.scored for r in rows.values())


def test_churned_after_paying_then_reactivated(agency):
    record_location_day(agency.pk, "L1", day(60), sub("active", 9700))
    record_location_day(agency.pk, "L1", day(20), sub("canceled", 0))
    record_location_day(agency.pk, "L1", day(5), sub("active", 12900))
    refresh_agency_days(agency.pk, day(60), D)
    rows = states(agency)
    assert rows[day(21)].lifecycle == "connected"
    assert [rows[day(k)].lifecycle for k in (20, 6)] == ["churned", "churned"]
    assert not rows[day(20)].scored
    assert rows[day(5)].lifecycle == "connected"
    assert rows[day(5)].mrr_cents == 12900
    # Churned days are not scored: no score, no flag.
    churned_days = {day(k) for k in range(6, 21)}
    assert not HealthScore.objects.for_agency(agency.pk).filter(day__in=churned_days).exists()
    assert not RiskFlag.objects.for_agency(agency.pk).filter(day__in=churned_days).exists()


def test_uninstalled_sub_account_is_not_connected_from_that_day_without_a_score(agency):
    for k in range(40, -1, -1):
        record_location_day(agency.pk, "L1", day(k), sub("active", 9700))
        record_user_activity_day(agency.pk, "L1", "U1", day(k), 1, {"conversations": 5}, False)
    lifecycle.set_status(
        agency, ["L1"], "uninstalled", at=datetime.combine(day(4), datetime.min.time(), UTC)
    )
    refresh_agency_days(agency.pk, day(40), D)
    rows = states(agency)
    assert rows[day(5)].lifecycle == "connected"
    assert rows[day(4)].lifecycle == "not_connected"
    assert rows[D].mrr_cents == 9700  # still billed: GHL's SaaS data is the agency's
    assert not HealthScore.objects.for_agency(agency.pk).filter(day__gte=day(4)).exists()
    state = LocationState.objects.for_agency(agency.pk).get(location_ghl_id="L1")
    assert (state.lifecycle, state.score, state.band) == ("not_connected", None, "")
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    assert portfolio.band_counts == {}
    assert portfolio.lifecycle_counts == {"not_connected": 1}


def test_a_sub_account_deleted_in_ghl_counts_no_more_mrr(agency):
    record_location_day(agency.pk, "L1", day(10), sub("active", 9700))
    lifecycle.set_status(
        agency, ["L1"], "deleted", at=datetime.combine(day(3), datetime.min.time(), UTC)
    )
    refresh_agency_days(agency.pk, day(10), D)
    rows = states(agency)
    assert rows[day(4)].mrr_cents == 9700
    assert (rows[day(3)].mrr_cents, rows[day(3)].lifecycle) == (0, "not_connected")


def test_month_start_is_the_previous_month_end_and_a_currency_switch_adds_up(agency):
    # Jan: 100 USD; Feb 10: switches to 90 EUR; Mar: 90 EUR. Days without rows between.
    record_location_day(agency.pk, "L1", date(2026, 1, 5), sub("active", 10000, "USD"))
    record_location_day(agency.pk, "L1", date(2026, 2, 10), sub("active", 9000, "EUR"))
    Location.objects.create(agency=agency, ghl_id="L2", name="Beta Roofing")
    record_location_day(agency.pk, "L2", date(2026, 1, 20), sub("active", 5000, "USD"))
    record_location_day(agency.pk, "L2", date(2026, 3, 2), sub("active", 7000, "USD"))
    refresh_agency_days(agency.pk, date(2026, 1, 1), D)
    months = {(m.month, m.currency): m for m in movements(month_end_mrr(agency.pk))}
    # January is GoCSM's first month: its end is the opening balance, nothing counts as new.
    jan_usd = months[(date(2026, 1, 1), "USD")]
    assert (jan_usd.opening, jan_usd.new, jan_usd.mrr_end, jan_usd.grr) == (True, 0, 15000, None)
    feb_usd = months[(date(2026, 2, 1), "USD")]
    assert (feb_usd.mrr_start, feb_usd.churn, feb_usd.mrr_end) == (15000, 10000, 5000)
    assert feb_usd.grr == round(100 * 5000 / 15000, 1)
    feb_eur = months[(date(2026, 2, 1), "EUR")]
    # It paid before (in USD), so in EUR it comes back as a reactivation, not as a new client.
    assert (feb_eur.mrr_start, feb_eur.reactivation, feb_eur.mrr_end) == (0, 9000, 9000)
    mar_usd = months[(date(2026, 3, 1), "USD")]
    assert (mar_usd.mrr_start, mar_usd.expansion, mar_usd.mrr_end) == (5000, 2000, 7000)
    for m in months.values():
        if m.opening:
            continue
        assert m.mrr_start + m.net_new == m.mrr_end
        assert m.grr is None or m.grr >= 0
    by_currency: dict[str, list] = {}
    for m in sorted(months.values(), key=lambda m: m.month):
        by_currency.setdefault(m.currency, []).append(m)
    for series in by_currency.values():
        for before, after in itertools.pairwise(series):
            assert after.mrr_start == before.mrr_end


def test_a_ghosting_user_is_counted_in_the_tier_mix(agency, make_user):
    make_user(agency, role="location", ghl_type="account", location_ids=["L1"], name="Quiet One")
    busy = make_user(
        agency, role="location", ghl_type="account", location_ids=["L1"], name="Busy One"
    ).ghl_id
    for k in range(30):
        record_user_activity_day(agency.pk, "L1", busy, day(k), 1, {"conversations": 5}, False)
    refresh_agency_days(agency.pk, day(29), D)
    state = LocationState.objects.for_agency(agency.pk).get(location_ghl_id="L1")
    assert (state.tier_heavy, state.tier_ghosting) == (1, 1)
    assert [(u["name"], u["tier"], u["last"]) for u in state.users] == [
        ("Busy One", "heavy", D.isoformat()),
        ("Quiet One", "ghosting", None),
    ]
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    assert portfolio.tiers["ghosting"] == 1


def test_revenue_figures_start_at_the_first_pull_that_read_subscriptions(agency):
    # The install backfilled counts from Jan 5; its first read of GHL's subscriptions was Feb 3.
    # A manual figure for a client billed outside GHL applies from that client's first day.
    for k in range(30):
        record_location_day(
            agency.pk, "L1", date(2026, 1, 5) + timedelta(days=k), LocationDayFacts(users_total=1)
        )
    record_location_day(agency.pk, "L1", date(2026, 2, 3), sub("active", 9700))
    Location.objects.create(agency=agency, ghl_id="L2", name="Billed by hand")
    record_location_day(agency.pk, "L2", date(2026, 1, 5), LocationDayFacts(users_total=1))
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="L2", mrr_cents=50000, currency="USD"
    )
    refresh_agency_days(agency.pk, date(2026, 1, 5), D)
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    # No plateau of manual MRR alone before the install: the series starts on Feb 3.
    assert min(portfolio.mrr_daily["USD"]) == "2026-02-03"
    months = {(m.month, m.currency): m for m in movements(month_end_mrr(agency.pk))}
    assert min(months) == (date(2026, 2, 1), "USD")
    feb = months[(date(2026, 2, 1), "USD")]
    assert (feb.opening, feb.new, feb.mrr_end) == (True, 0, 59700)
    mar = months[(date(2026, 3, 1), "USD")]
    assert (mar.opening, mar.mrr_start, mar.new, mar.mrr_end) == (False, 59700, 0, 59700)
