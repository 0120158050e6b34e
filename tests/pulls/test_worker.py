"""The wiring through a real Celery worker process, and a worker killed mid-pull (SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from sync.models import SyncRun, SyncRunLocation
from sync.tasks import pull_agency
from tests.pulls.conftest import fact_rows

ROOT = Path(__file__).resolve().parents[2]


def _db_url(alias: str) -> str:
    db = connections[alias].settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(ghl) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": _db_url("default"),
        "ANALYTICS_DATABASE_URL": _db_url("analytics"),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # A task whose worker died is delivered again after 3 s (production: an hour).
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "GHL_API_BASE_URL": ghl.base_url,
        "GHL_MARKETPLACE_URL": ghl.base_url,
        "GHL_CLIENT_ID": ghl.client_id,
        "GHL_CLIENT_SECRET": ghl.client_secret,
        "GHL_APP_ID": ghl.app_id,
        "GHL_BURST_LIMIT": "100000",
        "GHL_READ_TIMEOUT_SECONDS": "20",
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gocsm",
            "worker",
            "-P",
            "prefork",
            "-c",
            "1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(worker: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _purge_broker() -> None:
    from gocsm.celery import app

    app.control.purge()


@pytest.mark.services
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_worker_killed_mid_pull_runs_the_task_again_and_ends_identical(ghl, agency):
    from gocsm.celery import app

    app.conf.task_always_eager = False
    _purge_broker()
    # The first sub-account's calendars answer slowly, so the kill lands mid-task.
    ghl.add_fault("slow", path="/calendars/", seconds=6, count=1)
    worker = _start_worker(ghl)
    try:
        pull_agency.delay(agency.pk, reason="install")
        started = _wait(
            lambda: any(r.path.startswith("/calendars") for r in ghl.requests()), timeout=60
        )
        assert started, "the worker never reached a sub-account"
        _kill(worker)  # SIGKILL the worker and its pool mid-task
        run = SyncRun.objects.for_agency(agency).get()
        assert run.finished_at is None
        assert SyncRunLocation.objects.for_agency(agency).count() < run.locations_total
        worker = _start_worker(ghl)
        done = _wait(
            lambda: SyncRun.objects.for_agency(agency).get().finished_at is not None, timeout=90
        )
        assert done, "the killed task was not delivered again"
    finally:
        _kill(worker)
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
