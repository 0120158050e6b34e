"""Benchmark: one full pull of 1,000 sub-accounts against the fake GHL with GHL's limits enforced.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gocsm_pulls \\
    REDIS_URL=redis://127.0.0.1:6379/1 CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \\
    .venv/bin/python bench/sync.py [--locations 1000] [--workers 4] [--threads 8]

The fake GHL runs in this process and enforces 100 requests per 10 s and 200,000 per day per app
and resource (GHL_API.md §5). Four real Celery worker processes (each with a thread pool) run
the pull: the agency step, then one task per sub-account. It is the daily counts pull of an
agency already being pulled (counts complete through yesterday), from cold location tokens.
Every worker thread holds a connection per database alias (two, on one server here), so 4 x 8
threads stay within PostgreSQL's default 100 connections on a machine others share; at 16 a
burst of sub-account tasks met "too many clients".
Each run starts from a fresh state: it empties every table of the databases it is given and
flushes the two Redis dbs (REDIS_URL, CELERY_BROKER_URL), so give it ones of its own.

Printed: requests made, elapsed time, the rate-limit floor (the least time those requests need
under GHL's limits: for each resource, n requests in windows of 100 per 10 s need
(ceil(n / 100) - 1) * 10 s; resources run in parallel, so the floor is the largest), the ratio
elapsed / floor, and 429s received. Target: ratio <= 1.15 and zero 429s.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gocsm.settings")
os.environ.setdefault("DEBUG", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=900, help="give up after this many s")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            print(f"set {name} (PostgreSQL, Redis and a Redis broker db)", file=sys.stderr)
            return 2

    from sync.fakeghl import FakeGHL

    fake = FakeGHL(seed=3, agencies=[("Bench Agency", args.locations, "USD")])
    url = fake.start()
    os.environ.update(
        GHL_API_BASE_URL=url,
        GHL_MARKETPLACE_URL=url,
        GHL_CLIENT_ID=fake.client_id,
        GHL_CLIENT_SECRET=fake.client_secret,
        GHL_APP_ID=fake.app_id,
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from sync.demo import memoise_world

    memoise_world(fake)  # the fake must not be what limits the pull

    for alias in ("default", "analytics"):
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    _reset()
    agency = _install(fake)
    _prepare(fake, agency)

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gocsm",
                "worker",
                "-P",
                "threads",
                "-c",
                str(args.threads),
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"bench{i}@%h",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        for i in range(args.workers)
    ]
    try:
        _wait_for_workers(args.workers)
        fake.clear_requests()
        from sync.models import SyncRun
        from sync.tasks import pull_agency

        started = time.monotonic()
        started_wall = time.time()
        pull_agency.delay(agency.pk, reason="bench", kind="counts")
        run = None
        while time.monotonic() - started < args.timeout:
            run = SyncRun.objects.for_agency(agency).order_by("-pk").first()
            if run is not None and run.finished_at is not None:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        ended_wall = time.time()
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    _report(fake, run, elapsed)
    _timeline(fake, started_wall, ended_wall)
    fake.stop()
    return 0


def _wait_for_workers(count: int, limit: float = 120.0) -> None:
    """Time the pull, not the workers' start-up: queue it once every worker answers a ping (on a
    busy 2-core machine four workers can take several seconds to import Django and connect)."""
    from gocsm.celery import app

    until = time.monotonic() + limit
    while time.monotonic() < until:
        if len(app.control.ping(timeout=1.0)) >= count:
            return
    print(f"warning: not all {count} workers answered within {limit:.0f} s", file=sys.stderr)


def _reset() -> None:
    """Every run starts from nothing: empty tables in both databases, empty cache and broker
    Redis dbs (rate-limit logs, pull locks, cached location tokens, queued tasks of a run that
    was interrupted). Otherwise a second run the same day finds the counts already pulled."""
    import redis
    from django.conf import settings
    from django.core.management import call_command

    for alias in ("default", "analytics"):
        call_command("flush", database=alias, interactive=False, verbosity=0)
    for url in {settings.REDIS_URL, settings.CELERY_BROKER_URL}:
        redis.Redis.from_url(url).flushdb()


def _install(fake):
    from accounts.models import Agency
    from sync.ghl import oauth
    from sync.models import Installation
    from sync.scopes import SCOPES

    redirect = "http://localhost/oauth/callback/"
    company_id = fake.company_ids[0]
    code = fake.state.issue_code(fake.client_id, company_id, redirect, " ".join(SCOPES), "U1")
    grant = oauth.exchange_code(code, redirect)
    agency, _ = Agency.objects.update_or_create(
        company_id=company_id,
        defaults={
            "name": "Bench Agency",
            "timezone": "UTC",
            "is_installed": True,
            "needs_reauth": False,
            "currency": "USD",
        },
    )
    inst, _ = Installation.objects.get_or_create(agency=agency, defaults={"company_id": company_id})
    inst.store_grant(grant)
    inst.save()
    return agency


def _prepare(fake, agency) -> None:
    """An agency already being pulled: counts complete through yesterday."""
    from sync.models import LocationPullState
    from sync.pulls import agency_today

    yesterday = agency_today(agency) - timedelta(days=1)
    for loc in fake.world.locations(agency.company_id, 0):
        LocationPullState.objects.for_agency(agency).update_or_create(
            agency=agency, location_ghl_id=loc.id, defaults={"counts_through": yesterday}
        )


def _report(fake, run, elapsed: float) -> None:
    per_resource: Counter[str] = Counter()
    throttled = 0
    with fake.state.lock:
        tokens = dict(fake.state.access)
    for req in fake.requests():
        if req.path == "/oauth/token":
            continue
        if req.status == 429:
            throttled += 1
        token = (req.headers.get("Authorization") or "")[7:]
        info = tokens.get(token)
        resource = (info.location_id or info.company_id) if info else "unknown"
        per_resource[resource] += 1
    total = sum(per_resource.values())
    floor = max((math.ceil(n / 100) - 1) * 10.0 for n in per_resource.values()) if total else 0
    busiest = per_resource.most_common(1)[0] if per_resource else ("-", 0)
    print(f"run status:            {run.status if run else 'did not finish'}")
    if run is not None:
        print(f"sub-accounts pulled:   {run.locations_done} of {run.locations_total}")
        print(f"run requests (ours):   {run.requests_made}")
    print(f"requests made:         {total} to {len(per_resource)} resources")
    print(f"busiest resource:      {busiest[1]} requests")
    print(f"elapsed:               {elapsed:.1f} s")
    print(f"rate-limit floor:      {floor:.1f} s")
    print(f"ratio elapsed/floor:   {elapsed / floor:.3f}" if floor else "ratio: n/a")
    print(f"429s received:         {throttled}")


def _timeline(fake, t0: float, t_end: float) -> None:
    """Where the time goes: phases of the busiest (company) bucket and the per-location work."""
    with fake.state.lock:
        tokens = dict(fake.state.access)
    company, mints, locs = [], [], []
    for req in fake.requests():
        if req.path == "/oauth/token":
            continue
        info = tokens.get((req.headers.get("Authorization") or "")[7:])
        if info is not None and info.location_id:
            locs.append(req.at - t0)
        elif req.path == "/oauth/locationToken":
            mints.append(req.at - t0)
        else:
            company.append(req.at - t0)
    bucket = sorted(company + mints)
    if not bucket:
        return
    print("--- timeline (s after the pull was queued) ---")
    print(f"agency step:   {len(company)} requests {min(company):.2f} .. {max(company):.2f}")
    if mints:
        print(f"mints:         {len(mints)} requests {min(mints):.2f} .. {max(mints):.2f}")
    if locs:
        print(f"location work: {len(locs)} requests {min(locs):.2f} .. {max(locs):.2f}")
    print(f"run closed:    {t_end - t0:.2f}")
    # The company bucket's own floor from its first request: anything past it is slack.
    n = len(bucket)
    own_floor = (math.ceil(n / 100) - 1) * 10.0
    print(
        f"company bucket span {bucket[-1] - bucket[0]:.2f} s for {n} (its floor {own_floor:.0f} s)"
    )
    gen = [bucket[i] for i in range(0, n, 98)]
    print("98-request generations start at: " + " ".join(f"{g:.1f}" for g in gen))
    windows = []
    t = bucket[0]
    while t < bucket[-1]:
        windows.append(sum(1 for x in bucket if t <= x < t + 10))
        t += 10
    print("company requests per 10 s from its first: " + " ".join(map(str, windows)))
    lw, t = [], 0.0
    while t < t_end - t0:
        lw.append(sum(1 for x in locs if t <= x < t + 10))
        t += 10
    print("location requests per 10 s from queueing: " + " ".join(map(str, lw)))


if __name__ == "__main__":
    sys.exit(main())
