"""Celery tasks of the sync app. Thin: take ids, re-read, call one function.

pull_agency is the entry point the install flow and webhooks queue; its body is a placeholder
that records the request until the pulls work (issue 5) replaces it.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Agency
from sync.models import SyncRun


@shared_task(name="sync.tasks.pull_agency", acks_late=True, reject_on_worker_lost=True)
def pull_agency(agency_id: int, reason: str = "") -> None:
    agency = Agency.objects.filter(pk=agency_id, is_installed=True).first()
    if agency is None:
        return
    SyncRun.objects.create(
        agency=agency, kind="agency", status=SyncRun.STATUS_QUEUED, reason=reason[:64]
    )
