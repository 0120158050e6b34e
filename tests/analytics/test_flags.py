"""Downgrade and onboarding-stalled flags against evidence computed by hand."""

from datetime import date, timedelta

import pytest

from analytics.ingest import LocationDayFacts, record_location_day
from analytics.models import RiskFlag
from analytics.pipeline import refresh_agency_days

D = date(2026, 3, 31)
AGENCY = 3


def flags_on(day: date, loc: str) -> dict[str, str]:
    return dict(
        RiskFlag.objects.for_agency(AGENCY)
        .filter(day=day, location_ghl_id=loc)
        .values_list("code", "evidence")
    )


@pytest.mark.django_db
def test_plan_downgrade_raises_a_flag_with_the_mrr_and_plans():
    # 297.00 on plan "pro" until D-20, then 97.00 on "basic".
    for k in range(60):
        day = D - timedelta(days=k)
        pro = k > 19
        record_location_day(
            AGENCY,
            "LocDown",
            day,
            LocationDayFacts(
                users_total=2,
                saas_plan_id="pro" if pro else "basic",
                subscription_status="active",
                mrr_cents=29700 if pro else 9700,
                mrr_currency="USD",
            ),
        )
    refresh_agency_days(AGENCY, D - timedelta(days=25), D)
    # D: MRR(D) = 9700 < MRR(D-30) = 29700, same currency.
    assert flags_on(D, "LocDown")["downgraded"] == (
        "MRR 297.00 → 97.00 USD in 30 days (plan pro → basic)"
    )
    weight = RiskFlag.objects.for_agency(AGENCY).get(day=D, code="downgraded").weight
    assert weight == 0.30
    # D-20 is still on the old price: nothing lower than 30 days before.
    assert "downgraded" not in flags_on(D - timedelta(days=20), "LocDown")
    # D-19 is the first day below.
    assert "downgraded" in flags_on(D - timedelta(days=19), "LocDown")


@pytest.mark.django_db
def test_a_currency_switch_is_not_a_downgrade():
    for k in range(60):
        eur = k > 19
        record_location_day(
            AGENCY,
            "LocCur",
            D - timedelta(days=k),
            LocationDayFacts(
                subscription_status="active",
                mrr_cents=29700 if eur else 9700,
                mrr_currency="EUR" if eur else "USD",
            ),
        )
    refresh_agency_days(AGENCY, D, D)
    assert "downgraded" not in flags_on(D, "LocCur")


def _new_location(loc: str, first_k: int, published_on: int | None = None) -> None:
    """Facts from D-first_k to D; a workflow is published from D-published_on on."""
    for k in range(first_k, -1, -1):
        published = published_on is not None and k <= published_on
        record_location_day(
            AGENCY,
            loc,
            D - timedelta(days=k),
            LocationDayFacts(
                users_total=1,
                workflows_published=1 if published else 0,
                calendars_active=0,
                conversations_total=0,
                conversations_created=0,
            ),
        )


@pytest.mark.django_db
def test_onboarding_stalls_between_day_14_and_60_without_a_first_milestone():
    _new_location("LocStalled", 20)  # age 20 on D, nothing set up
    _new_location("LocStarted", 20, published_on=18)  # workflow published on its day 2
    _new_location("LocYoung", 10)  # age 10: too early to say
    _new_location("LocOld", 70)  # age 70: past the onboarding window
    _new_location("LocLate", 45, published_on=5)  # first milestone on day 40: after day 30
    refresh_agency_days(AGENCY, D - timedelta(days=7), D)
    assert flags_on(D, "LocStalled")["onboarding_stalled"] == (
        "Day 20 and no workflow published, calendar active or conversation yet"
    )
    assert "onboarding_stalled" not in flags_on(D, "LocStarted")
    assert "onboarding_stalled" not in flags_on(D, "LocYoung")
    assert "onboarding_stalled" not in flags_on(D, "LocOld")
    # The milestone came after its first 30 days: onboarding still counts as stalled.
    assert "onboarding_stalled" in flags_on(D, "LocLate")
    # LocStalled turned 14 on D-6: flagged from that day, not the day before.
    assert "onboarding_stalled" in flags_on(D - timedelta(days=6), "LocStalled")
    assert "onboarding_stalled" not in flags_on(D - timedelta(days=7), "LocStalled")
