"""The demo portfolio behind `make run`: development tooling, like the fake GHL it runs.

Only `manage.py demo` imports it; production code never does, which the import contract
"Production never imports the fake GHL or the demo" (pyproject.toml) enforces.

1. Start the fake GHL in this process (it keeps running while the development server serves).
2. Install a synthetic agency of 60 sub-accounts through the real OAuth path: our install view,
   the fake's consent page, our callback, the token exchange and the first pull.
3. Build 120 simulated days of history: move the fake's clock and ours (time-machine) forward and
   run the real pulls (pull_agency, eager Celery) at each step. To be ready in minutes on two
   cores, steps are a week apart until ten days ago, then one day apart; each counts pull catches
   up every day since the previous one, so every day has its counts, and levels are measured at
   each step.
4. Login activity: written per user and day through analytics.ingest.record_user_activity_day
   (the counters a beacon flush writes), shaped by the fake's usage curve, before each step's
   pull so the step's analytics recompute includes it. Beacons are not replayed through
   /ingest/activity/ for 120 days (tens of thousands of requests would not fit the time budget).

Running it again on an existing database re-installs (the fake's tokens live only in memory) and
pulls today; the history is kept.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.test import Client

from accounts.models import Agency, GHLUser
from analytics.ingest import record_user_activity_day
from sync.fakeghl import FakeGHL
from sync.fakeghl.world import u

DEMO_SEED = 7
DEMO_LOCATIONS = 60
HISTORY_DAYS = 120
RECENT_DAILY_DAYS = 10
OLD_STEP_DAYS = 7
DEMO_SSO_SECRET = "demo-shared-secret-for-the-dev-shell-only"
_RUNNING: list[FakeGHL] = []
FEATURES = ["dashboard", "conversations", "calendars", "contacts", "opportunities", "workflows"]


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text + "\n")
        stdout.flush()


def _fast_sqlite(sender=None, connection=None, **kwargs) -> None:
    """WAL with synchronous=NORMAL: a commit no longer waits for the disk (safe against a crash of
    the process; the demo's data is rebuilt anyway). Otherwise ~100,000 fsyncs dominate."""
    if connection is not None and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


def use_fast_sqlite() -> None:
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(_fast_sqlite, dispatch_uid="demo-fast-sqlite")
    for alias in connections:
        if connections[alias].connection is not None:
            _fast_sqlite(connection=connections[alias])


def start_fake() -> FakeGHL:
    """The fake GHL, and this process's settings pointed at it (for the server too)."""
    fake = FakeGHL(
        seed=DEMO_SEED,
        agencies=[("BrightPath Agency", DEMO_LOCATIONS, "USD")],
        # The demo is not about rate limits: both sides allow far more than GHL does.
        burst=1_000_000,
        enforce_limits=False,
    )
    memoise_world(fake)
    url = fake.start()
    settings.GHL_API_BASE_URL = url
    settings.GHL_MARKETPLACE_URL = url
    settings.GHL_CLIENT_ID = fake.client_id
    settings.GHL_CLIENT_SECRET = fake.client_secret
    settings.GHL_APP_ID = fake.app_id
    settings.GHL_REDIRECT_URI = "http://localhost/oauth/callback/"
    settings.GHL_BURST_LIMIT = 1_000_000
    if not settings.GHL_SSO_SHARED_SECRET:
        settings.GHL_SSO_SHARED_SECRET = DEMO_SSO_SECRET
    return fake


def memoise_world(fake: FakeGHL) -> None:
    """The fake's world is a pure function of (entity, day), recomputed on every request; caching
    it per instance keeps the fake from being the demo's (and the benchmark's) bottleneck."""
    world = fake.world
    for name in (
        "locations",
        "location",
        "workflows",
        "calendars",
        "products",
        "account_users",
        "agency_users",
        "appointments_booked",
        "saas_state",
        "users",
    ):
        cached = functools.lru_cache(maxsize=100_000)(getattr(world, name))
        setattr(world, name, cached)


def install_through_oauth(fake: FakeGHL) -> Agency:
    """Our /oauth/install/ -> the fake's consent page -> our /oauth/callback/ (real views)."""
    client = Client(HTTP_HOST="localhost")
    first = client.get("/oauth/install/")
    if first.status_code != 302:
        raise RuntimeError(f"install view answered {first.status_code}")
    consent = requests.get(first["Location"], allow_redirects=False, timeout=10)
    back = consent.headers.get("Location", "")
    if consent.status_code != 302 or "code=" not in back:
        raise RuntimeError("the fake's consent page did not grant a code")
    parts = urlsplit(back)
    done = client.get(f"{parts.path}?{parts.query}")
    if done.status_code != 302:
        raise RuntimeError(f"OAuth callback answered {done.status_code}")
    return Agency.objects.get(company_id=fake.company_ids[0])


def _write_activity(fake: FakeGHL, agency: Agency, days) -> None:
    """Per user and day, sessions and minutes shaped by the sub-account's usage curve."""
    world = fake.world
    staff = list(
        GHLUser.objects.for_agency(agency)
        .filter(ghl_type="agency")
        .values_list("ghl_id", flat=True)
    )
    for day in days:
        n = (day - world.epoch).days
        for loc in world.locations(agency.company_id, n):
            level = world.activity(loc, n)
            for user in world.account_users(loc, n):
                if u(DEMO_SEED, "active", user.id, n) > min(0.95, 0.35 * level + 0.1):
                    continue
                sessions = 1 + int(2 * u(DEMO_SEED, "sessions", user.id, n) * level)
                minutes = {
                    f: int(25 * level * u(DEMO_SEED, "min", user.id, n, f))
                    for f in FEATURES
                    if u(DEMO_SEED, "uses", user.id, f) < 0.3 + 0.5 * min(level, 1)
                }
                record_user_activity_day(
                    agency.pk, loc.id, user.id, day, sessions, minutes, is_agency_staff=False
                )
            if staff and u(DEMO_SEED, "staff", loc.id, n) < 0.25:
                record_user_activity_day(
                    agency.pk, loc.id, staff[n % len(staff)], day, 1, {"dashboard": 6}, True
                )


def _steps(history_days: int) -> list[int]:
    """Day offsets (negative: days ago) at which the simulated pulls run."""
    offsets = list(range(-history_days + OLD_STEP_DAYS, -RECENT_DAILY_DAYS, OLD_STEP_DAYS))
    return [*offsets, *range(-RECENT_DAILY_DAYS, 1)]


def build_demo_portfolio(stdout=None) -> str:
    import time_machine

    from sync.tasks import pull_agency

    started = time.monotonic()
    use_fast_sqlite()
    fake = start_fake()
    _RUNNING.append(fake)  # lives as long as the process: the server talks to it
    now = datetime.now(UTC)
    existing = Agency.objects.filter(company_id=fake.company_ids[0], is_installed=True).exists()
    if existing:
        agency = install_through_oauth(fake)
        _say(stdout, "Demo agency already built: re-installed through OAuth and pulled today.")
        _subscribe(agency)
        return _summary(agency, fake, started)
    old_backfill, old_debug = settings.SYNC_BACKFILL_DAYS, settings.DEBUG
    settings.SYNC_BACKFILL_DAYS = OLD_STEP_DAYS  # the real 90-day backfill would predate history
    # DEBUG's query log would record ~100,000 queries while the history builds.
    settings.DEBUG = False
    # One log line per task and run would be ~2,500 lines (and seconds) of noise here.
    quiet = [logging.getLogger(n) for n in ("celery", "sync", "analytics", "kombu")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.WARNING)
    try:
        start = now - timedelta(days=HISTORY_DAYS)
        fake.clock.set(start)
        with time_machine.travel(start, tick=True):
            _say(stdout, f"Installing {DEMO_LOCATIONS} sub-accounts through OAuth ...")
            agency = install_through_oauth(fake)
        previous = (start.astimezone(UTC)).date() - timedelta(days=OLD_STEP_DAYS)
        steps = _steps(HISTORY_DAYS)
        for i, offset in enumerate(steps):
            moment = now + timedelta(days=offset)
            fake.clock.set(moment)
            with time_machine.travel(moment, tick=True):
                day = moment.date()
                days = [previous + timedelta(days=k + 1) for k in range((day - previous).days)]
                _write_activity(fake, agency, days)
                pull_agency(agency.pk, reason="demo", kind="counts")
                previous = day
            if i % 10 == 0 or offset == 0:
                _say(stdout, f"  simulated {day} ({time.monotonic() - started:.0f} s)")
    finally:
        settings.SYNC_BACKFILL_DAYS, settings.DEBUG = old_backfill, old_debug
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)
        fake.clock.set(datetime.now(UTC))
    _subscribe(agency)
    return _summary(agency, fake, started)


def _subscribe(agency: Agency) -> None:
    """The demo agency pays for Growth: its install is dated months back in simulated time,
    so without this its trial would have ended and every page would be read-only."""
    from billing.accounts import account_for
    from billing.models import BillingAccount

    account = account_for(agency)
    account.status = BillingAccount.ACTIVE
    account.plan = "growth"
    account.save()


def _summary(agency: Agency, fake: FakeGHL, started: float) -> str:
    from accounts.models import Location

    locations = Location.objects.for_agency(agency).filter(status="active").count()
    people = GHLUser.objects.for_agency(agency).filter(deleted=False).count()
    return (
        f"Demo agency: {agency.name} with {locations} active sub-accounts and {people} people; "
        f"fake GHL at {fake.base_url}; built in {time.monotonic() - started:.0f} s."
    )
