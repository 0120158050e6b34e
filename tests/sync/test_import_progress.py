"""The import's progress on every page: sub-accounts done of total, time left, incomplete figures,
gone once the import and the analytics recompute after it have finished."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone as dj_tz

from sync import runs
from sync.models import SyncRun, SyncRunLocation
from sync.status import eta_text, resync_key
from tests.analytics.conftest import build_portfolio

DASHBOARDS = [
    "analytics:overview",
    "analytics:at-risk",
    "analytics:adoption",
    "analytics:logins",
    "analytics:revenue",
]
# Every page of the shared layout shows the status area, dashboards or not.
OTHER_PAGES = ["analytics:settings", "billing:index", "accounts:security"]
DETAIL = reverse("analytics:location-detail", args=["Loc0001"])


def _result(day=None):
    return SimpleNamespace(requests=3, rows=5, first_day=day, last_day=day)


def hold_import_open(agency, *, done: int, total: int, reason: str = "install", minutes=10):
    """A run as the real pull leaves it half-way: opened under the lock, fanned out to `total`
    sub-accounts, `done` of which have reported (through sync/runs.py, as the tasks do). Its
    clock is moved back so it has been running `minutes`, its first report two minutes in."""
    run = runs.open_run(agency, kind="counts", reason=reason)
    assert run is not None
    runs.start_fan_out(run, _result(), total)
    for i in range(done):
        assert runs.record_location(run.pk, agency.pk, f"Loc{i:04d}", status="ok", result=_result())
    now = dj_tz.now()
    started = now - timedelta(minutes=minutes)
    SyncRun.objects.for_agency(agency).filter(pk=run.pk).update(
        requested_at=started, started_at=started
    )
    first = started + timedelta(minutes=2)
    SyncRunLocation.objects.for_agency(agency).filter(run_id=run.pk).update(finished_at=first)
    run.refresh_from_db()
    return run


def finish(agency, run, *, total: int, done: int):
    for i in range(done, total):
        runs.record_location(run.pk, agency.pk, f"Loc{i:04d}", status="ok", result=_result())
    run.refresh_from_db()
    assert run.finished_at is not None
    return run


def _bar(body: str) -> str:
    match = re.search(r'<div class="import-progress" role="status">(.*?)</div>', body, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def owner_client(personas, login):
    return login(personas["owner_a"])


@pytest.mark.parametrize("name", [*DASHBOARDS, *OTHER_PAGES, "detail"])
def test_a_running_import_shows_its_progress_on_every_page(personas, owner_client, name):
    agency = personas["agency_a"]
    build_portfolio(agency, 3, days=3)
    hold_import_open(agency, done=12, total=60)
    body = owner_client.get(DETAIL if name == "detail" else reverse(name)).content.decode()
    bar = _bar(body)
    assert "Importing your portfolio from GoHighLevel" in bar
    assert '<progress class="import-progress__bar" max="100" value="20"' in bar
    # Pace: 11 more reports in the 8 minutes since the first one; 48 sub-accounts to go.
    assert "12 of 60 sub-accounts done · about 35 minutes left" in bar
    assert "This page updates by itself." in bar
    assert '<script src="/static/js/sync/status.js" defer></script>' in body
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in body
    assert 'class="freshness' not in body  # no "as of" before the first import has finished
    assert '<main class="content is-incomplete"' in body
    if name in DASHBOARDS or name == "detail":
        assert "Incomplete: importing — 12 of 60 sub-accounts so far." in body
    assert "style=" not in body and "<script>" not in body  # nothing inline (CSP)


def test_a_finished_import_shows_no_progress_and_complete_figures(personas, owner_client):
    agency = personas["agency_a"]
    build_portfolio(agency, 3, days=3)
    run = hold_import_open(agency, done=58, total=60)
    assert _bar(owner_client.get("/app/").content.decode())
    # The last reports close the run, which queues the analytics recompute (inline here).
    run = finish(agency, run, total=60, done=58)
    assert run.status == SyncRun.STATUS_OK
    for name in [*DASHBOARDS, *OTHER_PAGES]:
        body = owner_client.get(reverse(name)).content.decode()
        assert 'class="import-progress"' not in body, name
        assert "Incomplete:" not in body
        assert "is-incomplete" not in body
        assert "status.js" not in body
        assert "Figures as of <time" in body


def test_until_the_recompute_has_run_the_import_is_still_finishing(personas, owner_client):
    from analytics.models import PortfolioState

    agency = personas["agency_a"]
    build_portfolio(agency, 3, days=3)
    run = hold_import_open(agency, done=2, total=3)
    # The run closes but its recompute has not run yet (a busy worker): the portfolio state
    # still predates the end of the pull.
    SyncRun.objects.for_agency(agency).filter(pk=run.pk).update(first_day=dj_tz.now().date())
    finish(agency, run, total=3, done=2)
    PortfolioState.objects.for_agency(agency.pk).update(
        refreshed_at=dj_tz.now() - timedelta(hours=1)
    )
    body = owner_client.get("/app/").content.decode()
    assert "Every sub-account is read; computing scores and totals…" in _bar(body)
    assert "Incomplete: importing — computing totals." in body
    PortfolioState.objects.for_agency(agency.pk).update(refreshed_at=dj_tz.now())
    assert not _bar(owner_client.get("/app/").content.decode())


def test_hourly_pulls_of_a_complete_portfolio_show_no_bar(personas, owner_client):
    agency = personas["agency_a"]
    first = hold_import_open(agency, done=0, total=2)
    finish(agency, first, total=2, done=0)
    hold_import_open(agency, done=1, total=2, reason="beat", minutes=1)
    body = owner_client.get("/app/").content.decode()
    assert not _bar(body)
    assert "Incomplete:" not in body


def test_a_re_sync_after_a_complete_import_keeps_the_figures_and_shows_progress(
    personas, owner_client
):
    agency = personas["agency_a"]
    first = hold_import_open(agency, done=0, total=4)
    first = finish(agency, first, total=4, done=0)
    hold_import_open(agency, done=1, total=4, reason="resync", minutes=1)
    body = owner_client.get("/app/").content.decode()
    bar = _bar(body)
    assert "Updating your figures from GoHighLevel" in bar
    assert "1 of 4 sub-accounts done" in bar
    assert "Until it finishes, the figures stay as they were after the last update." in bar
    assert "Figures as of <time" in body
    assert "Incomplete:" not in body  # the figures shown are the last complete import's


def test_a_sub_account_user_sees_progress_without_portfolio_counts(personas, login, make_user):
    agency = personas["agency_a"]
    build_portfolio(agency, 3, days=3)
    hold_import_open(agency, done=12, total=60)
    person = make_user(agency, role="location", location_ids=["Loc0001"])
    client = login(person, location_ids=["Loc0001"])
    body = client.get("/app/", follow=True).content.decode()  # its page (test_landing.py)
    assert "Importing from GoHighLevel." in _bar(body)
    assert "20 % done" in _bar(body)
    assert "of 60" not in body
    data = client.get(reverse("sync:status")).json()
    assert data["importing"] and data["percent"] == 20
    assert data["done"] is None and data["total"] is None


def test_the_status_endpoint_needs_a_session_and_answers_for_the_signed_in_agency_only(
    personas, login
):
    agency_a = personas["agency_a"]
    hold_import_open(agency_a, done=12, total=60)
    url = reverse("sync:status")
    assert Client().get(url, HTTP_ACCEPT="application/json").status_code == 401
    response = login(personas["owner_a"]).get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["importing"] is True
    assert (data["done"], data["total"], data["percent"]) == (12, 60, 20)
    assert data["message"] == "12 of 60 sub-accounts done · about 35 minutes left"
    assert data["incomplete"] is True
    other = login(personas["owner_b"], test_client=Client()).get(url).json()
    assert other["importing"] is False
    assert other["done"] is None and "60" not in other["message"]


def test_a_re_sync_not_yet_picked_up_by_a_worker_shows_as_starting(personas, owner_client):
    from django.core.cache import cache

    agency = personas["agency_a"]
    first = hold_import_open(agency, done=0, total=2)
    finish(agency, first, total=2, done=0)
    cache.set(resync_key(agency.pk), dj_tz.now().isoformat(), 600)
    bar = _bar(owner_client.get("/app/").content.decode())
    assert "Updating your figures from GoHighLevel" in bar
    assert "Starting in a moment…" in bar


def test_an_install_whose_first_pull_has_not_started_shows_as_starting(installed, login, make_user):
    owner = make_user(installed, role="owner")
    body = login(owner).get("/app/").content.decode()
    assert "Importing your portfolio from GoHighLevel" in _bar(body)
    assert "Starting in a moment…" in _bar(body)


def test_a_first_import_that_never_finished_says_so(personas, owner_client):
    agency = personas["agency_a"]
    run = hold_import_open(agency, done=0, total=2)
    runs.fail_run(run, RuntimeError("GHL down"))
    body = owner_client.get("/app/").content.decode()
    assert not _bar(body)
    assert "No figures yet: the first import did not finish." in body
    assert "Incomplete: the first import has not finished yet." in body


def test_a_long_import_that_still_makes_progress_is_not_abandoned(personas, settings):
    agency = personas["agency_a"]
    settings.SYNC_PULL_LOCK_SECONDS = 600
    run = hold_import_open(agency, done=3, total=60, minutes=40)  # older than the lock's life
    # A beat pull comes along: the run still holds the lock (every report extends it).
    assert runs.abandon_stale_runs(agency) == 0
    run.refresh_from_db()
    assert run.finished_at is None and runs.is_running(run)
    # Its workers die: nobody extends the lock, it expires, the next pull closes the run.
    from sync import pulllock

    pulllock.release(agency.pk, f"run:{run.pk}")
    assert not runs.is_running(run)
    assert runs.abandon_stale_runs(agency) == 1
    run.refresh_from_db()
    assert (run.status, run.stop_reason) == (SyncRun.STATUS_FAILED, runs.STOP_INCOMPLETE)


def test_the_estimate_grows_while_the_run_stalls(personas):
    from sync.status import status_for

    agency = personas["agency_a"]
    hold_import_open(agency, done=11, total=21, minutes=12)
    now = dj_tz.now()
    # 10 more reports in the 10 minutes since the first: a minute each, 10 to go.
    assert status_for(agency, now=now).running.eta_seconds == pytest.approx(600, abs=2)
    # Ten minutes later with no report, the pace has halved.
    later = status_for(agency, now=now + timedelta(minutes=10)).running.eta_seconds
    assert later == pytest.approx(1200, abs=2)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "estimating the time left"),
        (20, "less than a minute left"),
        (61, "about 1 minute left"),
        (2094, "about 35 minutes left"),
        (3 * 3600 + 5 * 60, "about 3 h 05 min left"),
    ],
)
def test_time_left_reads_naturally(seconds, text):
    assert eta_text(seconds) == text


def test_a_pull_that_is_only_asking_for_the_lock_is_not_the_latest_run(personas, owner_client):
    agency = personas["agency_a"]
    finish(agency, hold_import_open(agency, done=0, total=2), total=2, done=0)
    # runs.open_run writes a queued row before the lock decides; it is deleted if another pull
    # holds the lock. Meanwhile the page shows the last complete import, no phantom progress.
    SyncRun.objects.create(agency=agency, reason="resync", status=SyncRun.STATUS_QUEUED)
    body = owner_client.get("/app/").content.decode()
    assert not _bar(body)
    assert "Figures as of <time" in body


def test_owners_see_how_many_sub_accounts_the_last_update_could_not_read(personas, login):
    agency = personas["agency_a"]
    run = hold_import_open(agency, done=2, total=3)
    runs.record_location(run.pk, agency.pk, "Loc0002", status="failed", stop_reason="ghl_down")
    run.refresh_from_db()
    assert run.status == SyncRun.STATUS_PARTIAL
    owner = login(personas["owner_a"]).get("/app/").content.decode()
    assert "1 of 3 sub-accounts could not be read in that update" in owner
    user = login(personas["user_a"], test_client=Client()).get("/app/").content.decode()
    assert "could not be read" not in user
    assert "Figures as of <time" in user
