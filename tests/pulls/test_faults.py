"""Faults: GHL down, 429 storms, slow pages, revoked grants; the next run catches up."""

from __future__ import annotations

import contextlib

import pytest
from django.apps import apps
from django.db import models

from accounts.models import Agency
from analytics.models import LocationDayFact
from sync.ghl.errors import GHLUnavailable, RateLimited
from sync.models import LocationPullState, SyncRun
from sync.pulls import agency_today
from sync.tasks import pull_agency
from tests.pulls.conftest import fact_rows


def _last_run(agency):
    return SyncRun.objects.for_agency(agency).order_by("-pk").first()


def _reference_facts(ghl, agency):
    """What an undisturbed pull of the same world writes (pulled again: upserts, same rows)."""
    pull_agency(agency.pk, reason="reference")
    return fact_rows(agency)


def test_ghl_down_stops_the_run_with_ghl_down_and_the_next_run_catches_up(ghl, agency):
    ghl.add_fault("5xx", path="/conversations", status=503)
    pull_agency(agency.pk, reason="install")
    run = _last_run(agency)
    assert run.status == SyncRun.STATUS_FAILED
    assert run.stop_reason == "ghl_down"
    assert run.locations_failed == run.locations_total
    # The gap is visible: no counts were completed for any sub-account.
    assert not LocationPullState.objects.for_agency(agency).exclude(counts_through=None).exists()
    ghl.clear_faults()
    pull_agency(agency.pk, reason="beat")
    assert _last_run(agency).status == SyncRun.STATUS_OK
    days = LocationDayFact.objects.for_agency(agency.pk).filter(conversations_created__isnull=False)
    assert days.count() == 90 * run.locations_total
    assert fact_rows(agency) == _reference_facts(ghl, agency)


def test_ghl_down_during_the_agency_step_records_why(ghl, agency):
    ghl.add_fault("5xx", path="/locations/search", status=502)
    with pytest.raises(GHLUnavailable):  # eager mode surfaces the agency step's error
        pull_agency(agency.pk, reason="beat")
    runs = SyncRun.objects.for_agency(agency)
    assert runs.count() >= 1
    assert {r.stop_reason for r in runs} == {"ghl_down"}
    assert all(r.finished_at is not None for r in runs)


def test_a_429_storm_backs_off_and_leaves_no_duplicates(ghl, agency):
    ghl.state.interval = 0.3  # short windows so the test's back-offs are short
    ghl.add_fault("429", count=25)
    for _ in range(6):  # beat runs again until the storm has passed
        with contextlib.suppress(RateLimited):  # eager mode surfaces the agency step's error
            pull_agency(agency.pk, reason="beat")
        if _last_run(agency).status == SyncRun.STATUS_OK:
            break
    runs = SyncRun.objects.for_agency(agency).order_by("pk")
    assert runs.last().status == SyncRun.STATUS_OK
    assert {r.stop_reason for r in runs if r.status != SyncRun.STATUS_OK} <= {"rate_limited"}
    assert ghl.rate_limited_count == 0  # the storm came from the fault, not our pace
    assert len([r for r in ghl.requests() if r.status == 429]) == 25
    rows = fact_rows(agency)
    assert len(rows) == len({(r[0], r[1]) for r in rows})
    assert rows == _reference_facts(ghl, agency)


def test_a_429_storm_that_outlasts_the_retries_stops_with_rate_limited(ghl, agency):
    ghl.state.interval = 0.2
    ghl.add_fault("429", path="/workflows")
    pull_agency(agency.pk, reason="beat")
    run = _last_run(agency)
    assert run.stop_reason == "rate_limited"
    assert run.status == SyncRun.STATUS_FAILED


def test_slow_pages_time_out_retry_and_complete(ghl, agency, settings):
    settings.GHL_READ_TIMEOUT_SECONDS = 0.5
    ghl.add_fault("slow", path="/calendars/", seconds=1.0, count=3)
    pull_agency(agency.pk, reason="install")
    run = _last_run(agency)
    assert run.status == SyncRun.STATUS_OK
    assert fact_rows(agency) == _reference_facts(ghl, agency)


def test_revoked_grant_stops_with_revoked_and_needs_reauth(ghl, agency):
    ghl.revoke(agency.company_id)
    ghl.expire_access_tokens()
    pull_agency(agency.pk, reason="beat")
    run = _last_run(agency)
    assert run.stop_reason == "revoked"
    assert Agency.objects.get(pk=agency.pk).needs_reauth
    assert pull_agency(agency.pk, reason="beat") == "not_pullable"


def test_no_end_customer_data_anywhere_after_a_full_pull(ghl, agency):
    pull_agency(agency.pk, reason="install")
    served = {v for v in ghl.customer_values if len(v) >= 6}
    assert served, "the fake served contact data; the test must look for it"
    found = []
    for model in apps.get_models():
        text_fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not text_fields:
            continue
        manager = model._base_manager
        for row in manager.using(_db_for(model)).values_list(*text_fields):
            blob = repr(row)
            found.extend(v for v in served if v in blob)
    assert found == []
    assert agency_today(agency)


def _db_for(model):
    from django.db import router

    return router.db_for_read(model) or "default"


@pytest.mark.parametrize(
    "path",
    ["/locations/search", "/users/search"],
)
def test_an_empty_listing_from_ghl_deletes_nobody_and_the_next_run_catches_up(ghl, agency, path):
    # GHL's complete lists decide what is gone: a 200 with an empty list once marked every
    # sub-account deleted, or every person deleted and signed out.
    from accounts.models import GHLUser, Location

    pull_agency(agency.pk, reason="install")
    people = set(GHLUser.objects.for_agency(agency).filter(deleted=False).values_list("pk"))
    statuses = dict(Location.objects.for_agency(agency).values_list("ghl_id", "status"))
    assert people and statuses
    ghl.add_fault("empty_list", path=path)
    pull_agency(agency.pk, reason="beat")
    run = _last_run(agency)
    assert (run.status, run.stop_reason) == (SyncRun.STATUS_FAILED, "bad_response")
    assert set(GHLUser.objects.for_agency(agency).filter(deleted=False).values_list("pk")) == people
    assert dict(Location.objects.for_agency(agency).values_list("ghl_id", "status")) == statuses
    ghl.clear_faults()
    pull_agency(agency.pk, reason="beat")
    assert _last_run(agency).status == SyncRun.STATUS_OK
