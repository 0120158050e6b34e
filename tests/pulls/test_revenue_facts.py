"""What the pull writes about money and sub-account status, held to the published definitions:
unpaid counts, one half-up rounding rule, plan names, sub-accounts GoCSM is not installed in,
dated status changes, and no backfill before a sub-account appeared."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone as dj_tz

from accounts.models import Location, LocationStatusChange, SaasPlan
from analytics.models import LocationDayFact
from sync.ghl.records import PriceRecord, SaasLocationRecord, SaasPlanRecord
from sync.pulls import agency_today, counts_days, mrr_for, pull_agency_overview


def _plan(amount: str, interval: str) -> dict[str, SaasPlanRecord]:
    price = PriceRecord("price1", interval, Decimal(amount), "USD", True)
    return {"plan1": SaasPlanRecord("plan1", "Growth", (price,))}


def _sub(status: str) -> SaasLocationRecord:
    return SaasLocationRecord("L1", "enabled", "plan1", "price1", status)


def test_unpaid_and_past_due_subscriptions_count_their_mrr_trials_do_not():
    plans = _plan("297", "month")
    assert mrr_for(_sub("unpaid"), plans, "USD") == ("plan1", "unpaid", 29700, "USD")
    assert mrr_for(_sub("past_due"), plans, "USD")[2] == 29700
    assert mrr_for(_sub("trialing"), plans, "USD")[2] == 0
    assert mrr_for(_sub("canceled"), plans, "USD")[2] == 0


def test_a_yearly_price_is_divided_by_twelve_and_rounded_half_up():
    # 10.14 a year = 1014 cents / 12 = 84.5 cents: half up gives 85 (half-even gave 84).
    assert mrr_for(_sub("active"), _plan("10.14", "year"), "USD")[2] == 85
    assert mrr_for(_sub("active"), _plan("10.02", "year"), "USD")[2] == 84  # 83.5 -> 84


def test_plan_names_are_kept_for_the_pages(ghl, agency):
    pull_agency_overview(agency)
    names = dict(SaasPlan.objects.for_agency(agency).values_list("plan_id", "name"))
    world = ghl.world.agencies[agency.company_id].plans
    assert names == {p.plan_id: p.title for p in world}


def _uninstall_in_fake(fake, company_id: str, location_id: str) -> None:
    """The fake's world says GoCSM is not installed in this sub-account (as GHL would)."""
    world = fake.world
    world._locations[company_id] = tuple(
        replace(loc, installed=False) if loc.id == location_id else loc
        for loc in world._locations[company_id]
    )
    world._by_location[location_id] = replace(world._by_location[location_id], installed=False)


def test_a_sub_account_gocsm_is_not_installed_in_keeps_its_subscription_facts(ghl, agency):
    first = ghl.world.locations(agency.company_id, 0)[0]
    _uninstall_in_fake(ghl, agency.company_id, first.id)
    pull_agency_overview(agency)
    today = agency_today(agency)
    world = ghl.world.locations(agency.company_id, 0)
    for loc in world:
        fact = LocationDayFact.objects.for_agency(agency.pk).get(location_ghl_id=loc.id, day=today)
        assert fact.subscription_status is not None
        stored = Location.objects.for_agency(agency).get(ghl_id=loc.id)
        assert stored.status == ("active" if loc.installed else "uninstalled")
    # A sub-account GoCSM is not installed in starts its history in that status.
    uninstalled = [loc.id for loc in world if not loc.installed]
    assert uninstalled == [first.id]
    assert set(
        LocationStatusChange.objects.for_agency(agency).values_list("location_ghl_id", flat=True)
    ) == set(uninstalled)


def test_status_changes_are_dated_once_each(ghl, agency):
    pull_agency_overview(agency)
    loc = Location.objects.for_agency(agency).filter(status="active").first()
    Location.objects.for_agency(agency).filter(pk=loc.pk).update(status="uninstalled")
    pull_agency_overview(agency)  # GHL says it is installed: back to active, one change
    pull_agency_overview(agency)  # nothing changes: nothing recorded
    changes = LocationStatusChange.objects.for_agency(agency).filter(location_ghl_id=loc.ghl_id)
    assert list(changes.values_list("status", flat=True)) == ["active"]
    gone = Location.objects.create(agency=agency, ghl_id="GoneFromGhl0000000001", name="Gone")
    pull_agency_overview(agency)
    gone.refresh_from_db()
    assert (gone.status, gone.is_installed) == ("deleted", False)
    assert LocationStatusChange.objects.for_agency(agency).get(
        location_ghl_id=gone.ghl_id
    ).status == ("deleted")


def test_a_sub_account_that_appeared_after_the_install_is_not_backfilled(agency, settings):
    settings.SYNC_BACKFILL_DAYS = 90
    today = agency_today(agency)
    agency.installed_at = dj_tz.now() - timedelta(days=30)
    agency.save()
    Location.objects.create(agency=agency, ghl_id="Old", first_seen_at=agency.installed_at)
    Location.objects.create(
        agency=agency, ghl_id="New", first_seen_at=dj_tz.now() - timedelta(days=2)
    )
    assert len(counts_days(agency, "Old", today)) == 90
    new_days = counts_days(agency, "New", today)
    assert new_days[0] >= today - timedelta(days=3)
    assert new_days[-1] == today
