"""The real processes of a fault test: a Celery worker and gunicorn, configured like production
(no eager tasks, Redis broker, PostgreSQL) but pointed at the test's fake GHL and proxies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


def db_url(alias: str, via: str | None = None) -> str:
    """The test database of `alias`, optionally through a proxy ("127.0.0.1:port")."""
    db = connections[alias].settings_dict
    address = via or f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{address}/{db['NAME']}"


def service_env(ghl, *, db_via: str | None = None, ghl_url: str | None = None, **extra) -> dict:
    """Environment of a worker or web process: this test's databases, Redis dbs and fake GHL
    (None: a process that never talks to GHL)."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": db_url("default", db_via),
        "ANALYTICS_DATABASE_URL": db_url("analytics", db_via),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if ghl is not None:
        url = ghl_url or ghl.base_url
        env.update(
            GHL_API_BASE_URL=url,
            GHL_MARKETPLACE_URL=url,
            GHL_CLIENT_ID=ghl.client_id,
            GHL_CLIENT_SECRET=ghl.client_secret,
            GHL_APP_ID=ghl.app_id,
            GHL_BURST_LIMIT="100000",
        )
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _log(tmp_path: Path, name: str):
    return open(tmp_path / f"{name}.log", "ab")  # closed with the process (kill())


def start_worker(env: dict, tmp_path: Path, *, pool: str = "threads", concurrency: int = 1):
    log = _log(tmp_path, "worker")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gocsm",
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    return proc


def start_gunicorn(env: dict, tmp_path: Path, port: int, *, workers: int = 2, threads: int = 13):
    log = _log(tmp_path, "gunicorn")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "gocsm.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    base = f"http://127.0.0.1:{port}"
    if not wait_for(lambda: _answers(base + "/healthz"), timeout=60):
        kill(proc)
        raise RuntimeError("gunicorn did not start (see gunicorn.log)")
    return proc


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process and everything it started (its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    log = getattr(proc, "log", None)
    if log is not None:
        log.close()


def wait_for(predicate, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
