"""Pulls against the fake GHL: what lands in the facts, idempotency, backfill, users and locations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import GHLUser, Location
from analytics.models import HealthScore, LocationDayFact
from gocsm.money import monthly_minor_units
from sync import pulllock
from sync.models import LocationPullState, SyncRun, SyncRunLocation
from sync.pulls import BACKFILL_DAYS, agency_today, pull_agency_overview
from sync.tasks import pull_agency
from tests.pulls.conftest import fact_rows, install, location_rows


def _world_day(fake, day):
    return (day - fake.world.epoch).days


def test_first_pull_backfills_ninety_days_of_counts_for_every_installed_sub_account(ghl, agency):
    assert pull_agency(agency.pk, reason="install") == "started"
    run = SyncRun.objects.for_agency(agency).get()
    today = agency_today(agency)
    pulled = run.locations_total
    installed = [loc for loc in ghl.world.locations(agency.company_id, 0) if loc.installed]
    assert pulled == len(installed)
    assert run.status == SyncRun.STATUS_OK
    assert run.first_day == today - timedelta(days=BACKFILL_DAYS - 1)
    assert run.last_day == today
    for loc in installed:
        days = LocationDayFact.objects.for_agency(agency.pk).filter(
            location_ghl_id=loc.id, conversations_created__isnull=False
        )
        assert days.count() == BACKFILL_DAYS
    states = LocationPullState.objects.for_agency(agency)
    assert {s.counts_through for s in states} == {today}


def test_same_pull_twice_gives_the_same_rows(ghl, agency):
    pull_agency(agency.pk, reason="install")
    facts, people = fact_rows(agency), location_rows(agency)
    pull_agency(agency.pk, reason="again")
    assert fact_rows(agency) == facts
    assert location_rows(agency) == people
    second = SyncRun.objects.for_agency(agency).order_by("-pk").first()
    assert second.status == SyncRun.STATUS_OK
    assert second.rows_written == 0


def test_metadata_pull_writes_levels_today_without_counts(ghl, agency):
    pull_agency(agency.pk, reason="beat", kind="metadata")
    today = agency_today(agency)
    assert not LocationDayFact.objects.for_agency(agency.pk).exclude(day=today).exists()
    row = LocationDayFact.objects.for_agency(agency.pk).filter(day=today).first()
    assert row.workflows_total is not None
    assert row.conversations_created is None
    assert not LocationPullState.objects.for_agency(agency).exclude(counts_through=None).exists()


def test_facts_match_what_ghl_reports(ghl, make_agency):
    agency = install(ghl, make_agency)
    agency.timezone = "UTC"  # the fake's days are UTC days
    agency.save()
    pull_agency(agency.pk, reason="install")
    today = agency_today(agency)
    n = _world_day(ghl, today)
    loc = next(x for x in ghl.world.locations(agency.company_id, n) if x.installed and x.saas)
    facts = {
        f.day: f
        for f in LocationDayFact.objects.for_agency(agency.pk).filter(location_ghl_id=loc.id)
    }
    now = facts[today]
    workflows = ghl.world.workflows(loc, n)
    assert now.workflows_total == len(workflows)
    assert now.workflows_published == sum(w["status"] == "published" for w in workflows)
    assert now.calendars_total == len(ghl.world.calendars(loc, n))
    assert now.products_total == len(ghl.world.products(loc, n))
    people = ghl.world.account_users(loc, n)
    assert now.users_total == len(people)
    assert now.users_admin == sum(p.role == "admin" for p in people)
    yesterday = today - timedelta(days=1)
    created, inbound = ghl.world.conversation_counts(loc.id, n - 1)
    assert facts[yesterday].conversations_created == created
    assert facts[yesterday].conversations_inbound == inbound
    assert facts[yesterday].conversations_outbound == created - inbound
    booked = len(ghl.world.appointments_booked(loc, n - 5))
    assert facts[today - timedelta(days=5)].appointments_booked == booked
    saas = ghl.world.saas_state(loc, n)
    assert now.saas_plan_id == saas["plan"].plan_id
    assert now.subscription_status == saas["status"]
    plan = saas["plan"]
    # revenue's definition: yearly / 12 rounded half up; active, past due and unpaid count.
    interval = "year" if loc.yearly else "month"
    monthly = monthly_minor_units((plan.yearly if loc.yearly else plan.monthly) * 100, interval)
    expected = monthly if saas["status"] in ("active", "past_due", "unpaid") else 0
    assert now.mrr_cents == expected
    assert now.mrr_currency == plan.currency


def test_sub_account_list_joins_installed_search_and_saas(ghl, agency):
    pull_agency_overview(agency)
    world = ghl.world.locations(agency.company_id, 0)
    stored = {loc.ghl_id: loc for loc in Location.objects.for_agency(agency)}
    assert set(stored) == {loc.id for loc in world}
    for loc in world:
        assert stored[loc.id].is_installed == loc.installed
        assert stored[loc.id].city == loc.city
        if loc.saas:
            assert stored[loc.id].saas_plan_id


def test_users_are_kept_in_step_with_ghl(ghl, agency):
    pull_agency_overview(agency)
    world = ghl.world.users(agency.company_id, 0)
    stored = {u.ghl_id: u for u in GHLUser.objects.for_agency(agency)}
    assert set(stored) == {u.id for u in world}
    restricted = next(u for u in world if u.restrict)
    row = stored[restricted.id]
    assert row.restrict_sub_account
    assert row.location_ids == list(restricted.location_ids)
    assert row.role == GHLUser.ROLE_USER
    assert row.confirmed_by_ghl_at is not None
    account = next(u for u in world if u.type == "account")
    assert stored[account.id].role == GHLUser.ROLE_LOCATION


def test_a_user_gone_from_ghl_is_marked_deleted(ghl, agency, make_user):
    ghost = make_user(agency, ghl_id="GoneFromGhl000000001")
    pull_agency_overview(agency)
    ghost.refresh_from_db()
    assert ghost.deleted


def test_overlapping_pull_is_skipped_while_the_lock_is_held(ghl, agency):
    assert pulllock.acquire(agency.pk, "someone-else", 60)
    assert pull_agency(agency.pk, reason="beat") == "locked"
    assert not SyncRun.objects.for_agency(agency).exists()
    assert ghl.requests() == []
    pulllock.release(agency.pk, "someone-else")
    assert pull_agency(agency.pk, reason="beat") == "started"


def test_lock_is_released_when_the_run_closes(ghl, agency):
    pull_agency(agency.pk, reason="beat")
    assert pulllock.holder(agency.pk) is None


def test_lock_release_needs_the_owner_token(db):
    assert pulllock.acquire(991, "owner", 60)
    assert not pulllock.release(991, "intruder")
    assert pulllock.holder(991) == "owner"
    assert pulllock.release(991, "owner")


@pytest.mark.parametrize("change", ["uninstalled", "needs_reauth", "no_tokens"])
def test_agency_that_cannot_be_pulled_returns_quietly(ghl, agency, change):
    if change == "uninstalled":
        agency.is_installed = False
        agency.save()
    elif change == "needs_reauth":
        agency.needs_reauth = True
        agency.save()
    else:
        agency.installation.wipe_tokens()
        agency.installation.save()
    assert pull_agency(agency.pk, reason="beat") == "not_pullable"
    assert pull_agency(999_999, reason="beat") == "not_pullable"
    assert not SyncRun.objects.for_agency(agency).exists()
    assert ghl.requests() == []


def test_run_records_requests_rows_and_every_sub_account(ghl, agency):
    pull_agency(agency.pk, reason="install")
    run = SyncRun.objects.for_agency(agency).get()
    assert run.requests_made == len(ghl.requests())
    # Every fact row was written at least once (today's twice: overview and sub-account).
    assert run.rows_written >= LocationDayFact.objects.for_agency(agency.pk).count()
    assert run.locations_done == run.locations_total
    assert run.started_at <= run.finished_at
    parts = SyncRunLocation.objects.for_agency(agency).filter(run=run)
    assert parts.count() == run.locations_total
    assert sum(p.requests_made for p in parts) < run.requests_made


def test_pull_triggers_the_analytics_recompute_for_the_touched_days(ghl, agency):
    pull_agency(agency.pk, reason="install")
    today = agency_today(agency)
    scored = HealthScore.objects.for_agency(agency.pk).filter(day=today)
    assert scored.count() == SyncRun.objects.for_agency(agency).get().locations_total


def test_pull_of_one_agency_never_touches_another(ghl, agency, make_agency):
    other = install(ghl, make_agency, company_index=1)
    pull_agency(agency.pk, reason="install")
    assert not LocationDayFact.objects.for_agency(other.pk).exists()
    assert not Location.objects.for_agency(other).exists()
