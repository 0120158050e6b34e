"""The wiring through a real Celery worker process, and a worker killed mid-pull (SIGKILL)."""

from __future__ import annotations

import pytest

from sync.models import SyncRun, SyncRunLocation
from sync.tasks import pull_agency
from tests.faults.procs import kill, service_env, start_worker, wait_for
from tests.pulls.conftest import fact_rows


def _start_worker(ghl, tmp_path):
    # prefork, as in production: the kill must take the pool's child with it.
    env = service_env(ghl, GHL_READ_TIMEOUT_SECONDS=20)
    return start_worker(env, tmp_path, pool="prefork")


def _purge_broker() -> None:
    from gocsm.celery import app

    app.control.purge()


@pytest.mark.services
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_worker_killed_mid_pull_runs_the_task_again_and_ends_identical(ghl, agency, tmp_path):
    from gocsm.celery import app

    app.conf.task_always_eager = False
    _purge_broker()
    # The first sub-account's calendars answer slowly, so the kill lands mid-task.
    ghl.add_fault("slow", path="/calendars/", seconds=6, count=1)
    worker = _start_worker(ghl, tmp_path)
    try:
        pull_agency.delay(agency.pk, reason="install")
        started = wait_for(
            lambda: any(r.path.startswith("/calendars") for r in ghl.requests()), timeout=60
        )
        assert started, "the worker never reached a sub-account"
        kill(worker)  # SIGKILL the worker and its pool mid-task
        run = SyncRun.objects.for_agency(agency).get()
        assert run.finished_at is None
        assert SyncRunLocation.objects.for_agency(agency).count() < run.locations_total
        worker = _start_worker(ghl, tmp_path)
        done = wait_for(
            lambda: SyncRun.objects.for_agency(agency).get().finished_at is not None, timeout=90
        )
        assert done, "the killed task was not delivered again"
    finally:
        kill(worker)
        _purge_broker()
        app.conf.task_always_eager = True
    run = SyncRun.objects.for_agency(agency).get()
    assert run.status == SyncRun.STATUS_OK
    assert run.locations_done == run.locations_total
    interrupted = fact_rows(agency)
    # An uninterrupted pull of the same world writes exactly these rows (and nothing more).
    pull_agency(agency.pk, reason="check")
    assert fact_rows(agency) == interrupted
    assert SyncRun.objects.for_agency(agency).order_by("-pk").first().rows_written == 0
