"""The freshness check: stale pulls, error rates, gaps and re-authorisation alert once, then clear."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from gocsm.alerts import is_open
from sync.freshness import check_agency
from sync.models import SyncRun
from sync.tasks import check_pull_freshness, pull_agency


def test_a_fresh_agency_raises_nothing(ghl, agency):
    pull_agency(agency.pk, reason="beat")
    assert check_agency(agency).ok


def test_stale_pulls_alert_once_and_clear_on_recovery(ghl, agency, mailoutbox, settings, caplog):
    settings.OPS_ALERT_EMAIL = "ops@gocsm.example"
    pull_agency(agency.pk, reason="beat")
    old = timezone.now() - timedelta(hours=3)
    SyncRun.objects.for_agency(agency).update(finished_at=old, requested_at=old)
    type(agency).objects.filter(pk=agency.pk).update(installed_at=old)
    caplog.set_level(logging.ERROR, logger="gocsm.alerts")
    assert check_pull_freshness() == 1
    assert check_pull_freshness() == 1
    assert is_open("sync.stale", agency.company_id)
    assert len(mailoutbox) == 1
    assert [r.event for r in caplog.records if r.levelno == logging.ERROR] == ["sync.stale"]
    pull_agency(agency.pk, reason="beat")
    assert check_pull_freshness() == 0
    assert not is_open("sync.stale", agency.company_id)
    assert "recovered" in mailoutbox[-1].subject


def test_failing_pulls_raise_error_rate_and_gaps(ghl, agency, settings):
    # The fake's world has lost some of its clients by today: every one left fails.
    settings.SYNC_ERROR_RATE_MIN_SAMPLES = 3
    ghl.add_fault("5xx", path="/workflows", status=500)
    pull_agency(agency.pk, reason="install")
    result = check_agency(agency)
    assert "sync.error_rate" in result.problems
    assert "sync.gaps" in result.problems
    assert is_open("sync.error_rate", agency.company_id)


def test_an_agency_needing_reauthorisation_is_reported(ghl, agency):
    agency.needs_reauth = True
    agency.save()
    assert "sync.reauth_needed" in check_agency(agency).problems
