"""The demo portfolio tells its stories: a small build (every story and two generated
sub-accounts, over the demo's 90 days: a score reads 30-day windows against the 30 days before,
so a shorter history blurs the turns) through the same code path as `make run`, then each story
checked where an owner reads it (the current state behind the overview, the at-risk list and the
sub-account page)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(databases="__all__")]

DAYS = 90


@pytest.fixture
def demo_settings(settings):
    """The settings the demo points at its fake, restored after the test."""
    from sync.ghl.ratelimit import LocalRateLimiter

    for name in (
        "GHL_API_BASE_URL",
        "GHL_MARKETPLACE_URL",
        "GHL_CLIENT_ID",
        "GHL_CLIENT_SECRET",
        "GHL_APP_ID",
        "GHL_REDIRECT_URI",
        "GHL_BURST_LIMIT",
        "GHL_SSO_SHARED_SECRET",
        "SYNC_BACKFILL_DAYS",
        "DEBUG",
        "MAILERS",
        "PLAYBOOKS_LOCAL_RECEIVERS",
    ):
        setattr(settings, name, getattr(settings, name))
    LocalRateLimiter.reset()
    return settings


@pytest.fixture
def demo(demo_settings):
    """The small demo: every story and two generated sub-accounts."""
    from sync import demo as demo_module

    summary = demo_module.build_demo_portfolio(days=DAYS, locations=20)
    fake = demo_module._RUNNING.pop()
    yield fake, summary
    fake.stop()


def _states(agency):
    from analytics.models import LocationState

    return {s.location_ghl_id: s for s in LocationState.objects.for_agency(agency.pk)}


def test_the_demo_tells_its_stories(demo, login):
    """One build (a minute or so), every check: building it once per check would cost more."""
    fake, summary = demo
    assert summary.startswith("Demo agency: BrightPath Agency")
    from sync import demo as demo_module

    assert -DAYS < demo_module.PLAYS_ON_OFFSET < 0  # the plays go on within this history
    _check_stories(fake)
    _check_money(fake)
    _check_books(fake, login)
    _check_churn_model(fake)


def _check_churn_model(fake):
    """The build ends as the weekly beat would: the agency's churn model trained on its own
    history (this short build is in cold start; `make run`'s default history is not, see
    test_demo_world.py), the summary says which."""
    from django.db.models import Max

    from accounts.models import Agency
    from analytics import churn
    from analytics.agencyclock import agency_zone
    from sync.models import SyncRun

    agency = Agency.objects.get(company_id=fake.company_ids[0])
    model = churn.model_for(agency)
    # The day of the build's last pull, not the clock's today: a build that runs across the
    # agency's midnight ends on the day it started.
    last_pull = SyncRun.objects.for_agency(agency).aggregate(at=Max("started_at"))["at"]
    assert model is not None and model.day == last_pull.astimezone(agency_zone(agency)).date()
    assert model.status == model.STATUS_COLD_START and model.events < model.events_needed


def _check_books(fake, login):
    """Tags applied and CSMs assigned among the agency's staff: a CSM opening GoCSM lands on a
    book with stories in it; a CSM GHL restricts has a book among what they may see. The books
    were set up before the plays went on, so the plays' tasks are the CSMs': the third staff
    member (Priya Lindqvist) has open tasks for her book's sub-accounts on the Tasks page."""
    from accounts.models import Agency, AuditEvent, CSMAssignment, GHLUser, LocationTag
    from analytics import segments
    from analytics.playbooks.models import Task

    agency = Agency.objects.get(company_id=fake.company_ids[0])
    world = fake.world
    staff = world.agency_users(world.agency(agency.company_id), 0)
    people = {u.ghl_id: u for u in GHLUser.objects.for_agency(agency)}
    csm = people[staff[2].id]
    book = segments.book_ids(agency, csm)
    assert {world.stories["quiet"].id, world.stories["payment"].id} <= book
    page = login(csm).get("/app/").content.decode()
    assert "<strong>My book</strong>" in page and "Gallagher Roofing" in page
    restricted = people[staff[3].id]
    theirs = segments.book_ids(agency, restricted)
    assert theirs and theirs <= set(restricted.location_ids)
    assert world.stories["thriving"].id in segments.locations_in(agency, segment="premium")
    tags = set(LocationTag.objects.for_agency(agency).values_list("tag__name", flat=True))
    assert {"premium", "dental", "referral partner"} <= tags
    assigned = AuditEvent.objects.filter(agency=agency, action="csm.assigned")
    owner = staff[0].id
    assert {e.target for e in assigned} == {staff[1].id, staff[2].id, staff[3].id}
    assert {e.actor_id for e in assigned} == {owner}

    # Every play's task for a sub-account with a CSM is that CSM's, none the owner's.
    csm_of = dict(
        CSMAssignment.objects.for_agency(agency).values_list("location__ghl_id", "csm_id")
    )
    fired = Task.objects.for_agency(agency).filter(run__isnull=False)
    in_books = [t for t in fired if t.location_ghl_id in csm_of]
    assert in_books
    assert all(t.assignee_id == csm_of[t.location_ghl_id] for t in in_books)
    open_tasks = fired.filter(assignee=csm, status=Task.OPEN)
    assert {t.location_ghl_id for t in open_tasks} <= book
    assert world.stories["quiet"].id in {t.location_ghl_id for t in open_tasks}
    tasks_page = login(csm).get("/app/tasks/").content.decode()
    assert "No open tasks for you" not in tasks_page
    assert "Gallagher Roofing" in tasks_page


def _check_stories(fake):
    from accounts.models import Agency, Location, LocationStatusChange
    from analytics.models import (
        HealthScore,
        LocationDay,
        NpsOptIn,
        NpsResponse,
        PortfolioState,
        RiskFlag,
    )
    from sync.models import SyncRun

    agency = Agency.objects.get(company_id=fake.company_ids[0])
    world = fake.world
    story = {key: loc.id for key, loc in world.stories.items()}
    states = _states(agency)
    today = max(s.day for s in states.values())

    def flags(key):
        return set(filter(None, states[story[key]].flag_codes.split(",")))

    # A daily pull for each of the last DAILY_DAYS, one a week before, each recomputing the days
    # it touched.
    from sync import demo

    run_days = {r.started_at.date() for r in SyncRun.objects.for_agency(agency)}
    assert len(run_days) >= demo.DAILY_DAYS + (DAYS - demo.DAILY_DAYS) // demo.CATCH_UP_EVERY

    quiet = states[story["quiet"]]
    assert "no_login_30" in flags("quiet")
    assert quiet.lifecycle == "connected" and quiet.score is not None
    assert "payment_failed" in flags("payment")
    assert states[story["payment"]].subscription_status == "unpaid"
    assert states[story["payment"]].mrr_at_risk > 0
    assert "usage_down" in flags("halving")
    # Lombardi Dental's owner rated the agency 3 of 10 twenty days ago while its use fell: the
    # detractor flag with who, what and when, and sentiment (3 -> 30) in today's score.
    assert "nps_detractor" in flags("halving")
    lombardi = HealthScore.objects.for_agency(agency.pk).get(
        location_ghl_id=story["halving"], day=today
    )
    assert lombardi.components["sentiment"] == 30.0
    evidence = (
        RiskFlag.objects.for_agency(agency.pk)
        .get(location_ghl_id=story["halving"], day=today, code="nps_detractor")
        .evidence
    )
    assert "rated 3/10 on" in evidence
    assert (
        HealthScore.objects.for_agency(agency.pk)
        .get(location_ghl_id=story["thriving"], day=today)
        .components["sentiment"]
        > 90
    )
    assert NpsOptIn.objects.for_agency(agency.pk).count() >= len(story) - 1
    dismissed = NpsResponse.objects.for_agency(agency.pk).get(location_ghl_id=story["payment"])
    assert dismissed.rating is None
    assert "onboarding_stalled" in flags("stalled")
    assert states[story["stalled"]].lifecycle == "onboarding"

    gone = states[story["uninstalled"]]
    assert (gone.lifecycle, gone.score, gone.band) == ("not_connected", None, "")
    assert Location.objects.for_agency(agency).get(ghl_id=story["uninstalled"]).status == (
        "uninstalled"
    )
    change = LocationStatusChange.objects.for_agency(agency).get(
        location_ghl_id=story["uninstalled"]
    )
    assert (today - change.at.date()).days in (15, 16, 17)

    churned = states[story["churned"]]
    assert (churned.lifecycle, churned.score) == ("churned", None)
    back = states[story["reactivated"]]
    assert back.lifecycle == "connected" and back.mrr_cents > 0
    lifecycles = dict(
        LocationDay.objects.for_agency(agency.pk)
        .filter(location_ghl_id=story["reactivated"])
        .values_list("day", "lifecycle")
    )
    assert lifecycles[today - timedelta(days=30)] == "churned"

    for key in ("recovering_usage", "recovering_payment", "recovering_logins"):
        series = dict(
            HealthScore.objects.for_agency(agency.pk)
            .filter(location_ghl_id=story[key], day__gte=today - timedelta(days=30))
            .values_list("day", "score")
        )
        assert series[today] - min(series.values()) >= 10, key
        assert states[story[key]].band in ("healthy", "thriving"), key

    manual = {key: states[story[key]] for key in ("manual_flat", "manual_raise", "manual_small")}
    assert {k: (s.mrr_source, s.mrr_cents, s.currency) for k, s in manual.items()} == {
        "manual_flat": ("manual", 85000, "USD"),
        "manual_raise": ("manual", 120000, "USD"),
        "manual_small": ("manual", 60000, "USD"),
    }

    for key in ("new_fast", "new_recent"):
        assert states[story[key]].lifecycle == "onboarding", key
        first = LocationDay.objects.for_agency(agency.pk).filter(location_ghl_id=story[key])
        born = world.epoch + timedelta(days=world.stories[key].created_day)
        assert min(first.values_list("day", flat=True)) >= born - timedelta(days=1), key

    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    assert {"USD", "GBP"} <= set(portfolio.mrr_totals)
    assert states[story["pounds_thriving"]].currency == "GBP"
    scored = sum(portfolio.band_counts.values())
    assert portfolio.band_counts.get("thriving", 0) + portfolio.band_counts.get("healthy", 0) > (
        scored / 2
    )


def _check_money(fake):
    """No day reads MRR 0; manual MRR was entered as an owner would, audited."""
    from accounts.models import Agency, AuditEvent
    from analytics.models import ManualMRR, PortfolioState

    agency = Agency.objects.get(company_id=fake.company_ids[0])
    portfolio = PortfolioState.objects.for_agency(agency.pk).get()
    usd = portfolio.mrr_daily["USD"]
    days = sorted(date.fromisoformat(d) for d in usd)
    first, last = days[0], days[-1]
    assert last == portfolio.day
    assert len(days) == (last - first).days + 1  # no day missing: none reads 0
    assert (last - first).days >= DAYS - 1
    # From the install on (before it GHL's subscriptions are unknown, manual MRR alone counts),
    # no sawtooth between days.
    values = [usd[d.isoformat()] for d in days if d >= agency.installed_at.date()]
    assert min(values) > 0.6 * max(values)

    entries = ManualMRR.objects.for_agency(agency.pk)
    assert entries.count() == 4  # three set once, one raised 25 days ago
    events = AuditEvent.objects.filter(agency=agency, action="analytics.manual_mrr_set")
    assert events.count() == 4
    owner = fake.world.agency_users(fake.world.agency(agency.company_id), 0)[0]
    assert {e.actor_id for e in events} == {owner.id}
    assert {e.detail["via"] for e in events} == {"form"}


def test_the_demo_has_plays_on_with_firings_tasks_and_outcomes(demo):
    """Plays switched on 45 days ago: firings since (the test's transaction holds back the
    deliveries, which `make run` sends), their tasks, and episodes from before, to compare."""
    from accounts.models import Agency
    from analytics.playbooks import outcomes
    from analytics.playbooks.models import Delivery, Play, Run, Task

    fake, summary = demo
    agency = Agency.objects.get(company_id=fake.company_ids[0])
    plays = Play.objects.for_agency(agency).filter(enabled=True)
    assert set(plays.values_list("template", flat=True)) == {
        "quiet_14",
        "band_drop",
        "usage_down",
        "onboarding_stalled",
    }
    assert Run.objects.for_agency(agency).count() > 0
    assert Task.objects.for_agency(agency).exists()
    assert Delivery.objects.for_agency(agency).filter(action="ghl_webhook").exists()
    compared = [outcomes.for_play(p, date.today()) for p in plays]
    assert sum(fired.episodes for fired, _off in compared) == Run.objects.for_agency(agency).count()
    assert sum(off.episodes for _fired, off in compared) > 0
    assert "Playbooks: 4 plays on" in summary


def test_running_it_again_catches_up_the_days_since_in_the_same_world(demo_settings):
    """A second `make run` three days later: re-installed, the three days simulated (a pull and
    logins each day), in the world the history came from."""
    import time_machine

    from accounts.models import Agency
    from analytics.models import UserActivityDay
    from sync import demo as demo_module
    from sync.models import SyncRun

    demo_module.build_demo_portfolio(days=10, locations=6)
    first = demo_module._RUNNING.pop()
    first.stop()
    agency = Agency.objects.get(company_id=first.company_ids[0])
    before = demo_module._last_pull_day(agency)
    with time_machine.travel(timedelta(days=3), tick=True):
        summary = demo_module.build_demo_portfolio(days=10, locations=6)
    second = demo_module._RUNNING.pop()
    second.stop()
    assert "connected sub-accounts" in summary
    assert second.world.epoch == first.world.epoch
    assert [loc.id for loc in second.world.stories.values()] == [
        loc.id for loc in first.world.stories.values()
    ]
    assert demo_module._last_pull_day(agency) == before + timedelta(days=3)
    pulled = {
        r.started_at.astimezone(demo_module.agency_zone(agency)).date()
        for r in SyncRun.objects.for_agency(agency)
    }
    assert {before + timedelta(days=k) for k in range(1, 4)} <= pulled
    logged = set(
        UserActivityDay.objects.for_agency(agency.pk)
        .filter(day__gt=before)
        .values_list("day", flat=True)
    )
    assert logged == {before + timedelta(days=k) for k in range(1, 4)}
