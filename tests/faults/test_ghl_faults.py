"""A misbehaving GHL, met by a real Celery worker over HTTP: 5xx answers and connection resets,
answers that hang past the client's timeout, a 100 MB page, listings that ignore `skip`/`offset`/
`page` or whose cursor loops. Each pull backs off, stops within its bounds, records why on the run
(SyncRun / SyncRunLocation stop reasons, what staff see in admin), and the next run catches up to
exactly what an undisturbed pull writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.fakeghl import FakeGHL
from sync.ghl.errors import PaginationStalled, ResponseTooLarge
from sync.models import LocationPullState, SyncRun, SyncRunLocation
from sync.pulls import agency_today
from sync.tasks import pull_agency
from tests.faults import procs
from tests.faults.conftest import TIMINGS, reference_facts, service_env
from tests.faults.proxy import free_port
from tests.pulls.conftest import fact_rows

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, databases="__all__")]


def _locations(ghl, agency) -> list[str]:
    return sorted(loc.id for loc in ghl.world.locations(agency.company_id, ghl.today()))


def _run_to_end(agency, *, timeout: float) -> SyncRun:
    """Queue a counts pull on the worker and wait until its run is closed."""
    before = set(SyncRun.objects.for_agency(agency).values_list("pk", flat=True))
    pull_agency.delay(agency.pk, reason="beat", kind="counts")

    def closed():
        runs = SyncRun.objects.for_agency(agency).exclude(pk__in=before)
        return runs.exists() and all(r.finished_at is not None for r in runs)

    assert procs.wait_for(closed, timeout=timeout), "the pull did not finish within its bounds"
    return SyncRun.objects.for_agency(agency).exclude(pk__in=before).get()


def _reasons(run) -> dict[str, str]:
    rows = SyncRunLocation.objects.for_agency(run.agency_id).filter(run=run)
    return dict(rows.values_list("location_ghl_id", "stop_reason"))


def test_sub_account_faults_stop_in_bounds_say_why_and_the_next_run_catches_up(
    ghl, agency, broker, spawn, eager
):
    locs = _locations(ghl, agency)
    ghl.add_fault("5xx", path="/calendars/", location=locs[0], status=503)
    ghl.add_fault("reset", path="/workflows/", location=locs[1])
    ghl.add_fault("slow", path="/workflows/", location=locs[2], seconds=4)  # > read timeout
    ghl.add_fault("huge_body", path="/calendars/", location=locs[3])  # 100 MB, no length
    ghl.add_fault("stuck_pages", path="/products/", location=locs[4])  # `offset` ignored
    spawn.worker(service_env(ghl), concurrency=5)

    run = _run_to_end(agency, timeout=150)

    assert run.status == SyncRun.STATUS_PARTIAL
    assert _reasons(run) == {
        locs[0]: "ghl_down",
        locs[1]: "ghl_down",
        locs[2]: "ghl_timeout",
        locs[3]: "too_large",
        locs[4]: "no_progress",
        locs[5]: "",
    }
    assert run.detail["failures"] == {"ghl_down": 2, "ghl_timeout": 1, "too_large": 1} | {
        "no_progress": 1
    }
    states = {
        s.location_ghl_id: s for s in LocationPullState.objects.for_agency(agency)
    }  # the gaps are recorded per sub-account, where the freshness checks look
    assert states[locs[3]].last_stop_reason == "too_large"
    assert states[locs[5]].counts_through == agency_today(agency)
    # Backed off and bounded: a transient fault is retried (call retries x task retries), a
    # page that cannot be used is not asked for again.
    attempts = TIMINGS["GHL_RETRY_MAX_ATTEMPTS"] * (1 + 4)  # call attempts x task attempts
    assert len(ghl.requests("/calendars/?")) <= attempts + 10
    five_xx = [r for r in ghl.requests("/calendars/") if r.query["locationId"] == [locs[0]]]
    assert 2 <= len(five_xx) <= attempts
    big = [r for r in ghl.requests("/calendars/") if r.query["locationId"] == [locs[3]]]
    assert len(big) == 1
    stuck = [r for r in ghl.requests("/products/") if r.query["locationId"] == [locs[4]]]
    assert len(stuck) == 2  # the first page, and the same page again: stopped there
    assert run.finished_at - run.started_at < timedelta(seconds=120)

    ghl.clear_faults()
    again = _run_to_end(agency, timeout=90)
    assert again.status == SyncRun.STATUS_OK
    caught_up = fact_rows(agency)
    states = LocationPullState.objects.for_agency(agency)
    assert {s.counts_through for s in states} == {agency_today(agency)}
    assert caught_up == reference_facts(agency, eager)


def test_agency_listings_that_make_no_progress_stop_at_once_and_say_so(
    ghl, agency, broker, spawn, eager
):
    spawn.worker(service_env(ghl))
    for path in ("/locations/search", "/users/search", "/oauth/installedLocations"):
        ghl.clear_requests()
        ghl.add_fault("stuck_pages", path=path)  # `skip` ignored: every page is the first
        run = _run_to_end(agency, timeout=60)
        assert (run.status, run.stop_reason) == (SyncRun.STATUS_FAILED, "no_progress"), path
        assert run.detail == {"error": "PaginationStalled"}
        assert len(ghl.requests(path)) == 2, path  # not 10,000 pages, not until a time limit
        ghl.clear_faults()
    run = _run_to_end(agency, timeout=90)
    assert run.status == SyncRun.STATUS_OK
    assert fact_rows(agency) == reference_facts(agency, eager)


def test_a_huge_answer_to_the_agency_step_is_refused_unparsed(ghl, agency, broker, spawn, eager):
    ghl.add_fault("huge_body", path="/users/search", size=100 * 1024 * 1024)
    spawn.worker(service_env(ghl))
    run = _run_to_end(agency, timeout=60)
    assert (run.status, run.stop_reason) == (SyncRun.STATUS_FAILED, "too_large")
    assert len(ghl.requests("/users/search")) == 1  # refused once, not retried
    ghl.clear_faults()
    assert _run_to_end(agency, timeout=90).status == SyncRun.STATUS_OK
    assert fact_rows(agency) == reference_facts(agency, eager)


@pytest.fixture
def big_ghl(settings, timings):
    """A larger agency, so its SaaS list has several pages (GHL serves 10 a page)."""
    fake = FakeGHL(seed=11, agencies=[("Summit Partners", 40)], burst=100_000, port=free_port())
    url = fake.start()
    settings.GHL_API_BASE_URL = url
    settings.GHL_CLIENT_ID = fake.client_id
    settings.GHL_CLIENT_SECRET = fake.client_secret
    settings.GHL_APP_ID = fake.app_id
    settings.GHL_BURST_LIMIT = 100_000
    yield fake
    fake.stop()


def test_page_number_and_cursor_listings_that_loop_stop_at_once(big_ghl, make_agency):
    """The styles the pull does not meet above: `page` (SaaS) and a cursor (conversations), read
    by the client over HTTP from the fake."""
    from sync.ghl.ratelimit import LocalRateLimiter
    from tests.pulls.conftest import install

    LocalRateLimiter.reset()
    agency = install(big_ghl, make_agency)
    from sync.credentials import client_for_agency

    client = client_for_agency(agency)
    pages = len(list(client.iter_saas_locations()))
    assert pages > 10, "the SaaS list must span pages for this test"
    big_ghl.clear_requests()
    big_ghl.add_fault("stuck_pages", path="/saas/saas-locations/")
    with pytest.raises(PaginationStalled):
        list(client.iter_saas_locations())
    assert len(big_ghl.requests("/saas/saas-locations/")) == 2

    loc = next(client.iter_locations()).id
    since = big_ghl.clock.now() - timedelta(days=3)
    assert len(list(client.iter_conversations(loc, start=since))) > TIMINGS["GHL_PAGE_SIZE"]
    big_ghl.clear_requests()
    big_ghl.add_fault("stuck_pages", path="/conversations/search")
    with pytest.raises(PaginationStalled):
        list(client.iter_conversations(loc, start=since))
    assert len(big_ghl.requests("/conversations/search")) == 2

    big_ghl.clear_faults()
    big_ghl.add_fault("huge_body", path="/companies/", size=100 * 1024 * 1024)
    with pytest.raises(ResponseTooLarge):
        client.company()


def test_an_answer_that_trickles_past_the_deadline_is_given_up(ghl, agency):
    """A GHL that sends a few bytes now and then never trips the read timeout; the call's
    deadline bounds it anyway, and the same call works once GHL is well again."""
    import time

    from sync.credentials import client_for_agency
    from sync.ghl.errors import GHLTimeout

    trickle = 5.0  # ten pieces 0.5 s apart: within the read timeout, past the call's deadline
    assert TIMINGS["GHL_READ_TIMEOUT_SECONDS"] > trickle / 10
    assert trickle > TIMINGS["GHL_CALL_DEADLINE_SECONDS"]
    ghl.add_fault("trickle", path="/companies/", seconds=trickle, count=1)
    client = client_for_agency(agency)
    started = time.monotonic()
    with pytest.raises(GHLTimeout):
        client.company()
    assert time.monotonic() - started < trickle  # given up at the deadline, not at the end
    assert len(ghl.requests("/companies/")) == 1  # not retried past the deadline
    assert client.company().id == agency.company_id
