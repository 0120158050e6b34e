"""The demo portfolio behind `make run`: an agency with 18 months of history (540 days) whose 100
sub-accounts include the clients it lost over that time (about 60 are active today), enough
churn for its own churn model to be in use when the pages open.

Development tooling, like the fake GHL it runs: only `manage.py demo` imports it, and the import
contract "Production never imports the fake GHL or the demo" (pyproject.toml) enforces it.

1. Start the fake GHL in this process (it keeps running while the development server serves),
   with the scripted stories of sync/fakeghl/stories.py among generated sub-accounts.
2. Install the agency through the real OAuth path: our install view, the fake's consent page,
   our callback, the token exchange and the install pull.
3. Simulate the days since: move the fake's clock and ours (time-machine) to a day and run the
   real daily counts pull (pull_agency, eager Celery), which ends, as in production, with the
   analytics recompute of the days it touched. The last DAILY_DAYS (60) are pulled every day;
   before them one pull a week catches up the week (GHL dates conversations and bookings, so the
   per-day facts are the same; levels and the subscription are read on the pull's day and carry
   over the days between, as analytics.daystate defines), which keeps the build within about
   1.5 times the 90 daily pulls the demo used to make (measured: 1.15 times). The days' logins
   are written through analytics.ingest.record_user_activity_days (what a beacon flush writes),
   from the world's people (World.user_days), every day either way; beacons are not replayed
   through /ingest/activity/ (tens of thousands of requests would not fit the time budget). On
   the day a story says so (or the first pull after it), the owner enters a manual MRR through
   analytics.manualmrr, as the sub-account page does. The owner switched the NPS prompt on for
   every sub-account at install, and for each new one as it arrives; the stories' people
   answer it on the days they say (sync/fakeghl/stories.py, e.g. Lombardi Dental's detractor
   while its use falls) and about a third of the other sub-accounts' people answer once, as
   NpsResponse rows (what the prompt's endpoint writes), their rating following how busy their
   sub-account is.
4. While it simulates, the GHL client's requests reach the fake through an in-process transport
   (sync/fakeghl/inprocess.py): the same answers, without the socket hand-offs that made the
   ~60,000 requests of the history the slowest part by far. Afterwards requests go over HTTP.
5. Train the agency's churn model as the weekly beat does (analytics.churn.train): the world's
   churn follows behaviour (sync/fakeghl/world.py, "Churn generator"), so the overview's
   "Churn (90 d)", the at-risk list's expected MRR lost, the sub-account page's drivers and the
   Churn prediction page's backtest show from the start.

Running it again on an existing database keeps the history: it re-installs (the fake's tokens
live only in memory) and simulates the days since it last ran, in the same world (its day 0 stays
the day the demo was first built).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db.models import Max
from django.test import Client
from django.utils import timezone as dj_tz

from accounts.models import Agency, CSMAssignment, GHLUser
from analytics.agencyclock import agency_today, agency_zone
from analytics.ingest import record_user_activity_days
from sync.fakeghl import FakeGHL
from sync.fakeghl.inprocess import InProcessTransport
from sync.fakeghl.world import make_id, u

DEMO_SEED = 7
DEMO_LOCATIONS = 100
HISTORY_DAYS = 540
# The last DAILY_DAYS are pulled every day, as production does; before them one pull a week
# (CATCH_UP_EVERY days) catches up the days since the last one: GHL dates conversations and
# bookings, so the facts are the same, logins are written per day anyway, and the analytics
# carry levels and the subscription across days without a pull. A quarter of the build time.
DAILY_DAYS = 60
CATCH_UP_EVERY = 7
# The install pull's backfill, and so how far a catch-up reaches back (from the day the last
# pull stopped to today). GHL dates conversations and bookings, not logins, so the real 90 days
# would give counts but no logins before the install.
BACKFILL_DAYS = CATCH_UP_EVERY + 1
DEMO_SSO_SECRET = "demo-shared-secret-for-the-dev-shell-only"
_RUNNING: list[FakeGHL] = []


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text + "\n")
        stdout.flush()


def _fast_sqlite(sender=None, connection=None, **kwargs) -> None:
    """WAL with synchronous=NORMAL: a commit no longer waits for the disk (safe against a crash of
    the process; the demo's data is rebuilt anyway). Otherwise ~100,000 fsyncs dominate."""
    # Inside a transaction (a test's) SQLite cannot change its journal, and need not.
    if connection is not None and connection.vendor == "sqlite" and not connection.in_atomic_block:
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


def first_stored_day(days: int = HISTORY_DAYS) -> int:
    """The world day of the history's first stored day: the install pull on day -days
    backfills BACKFILL_DAYS days."""
    return -days - (BACKFILL_DAYS - 1)


def start_fake(
    locations: int = DEMO_LOCATIONS,
    clock_start: datetime | None = None,
    days: int = HISTORY_DAYS,
) -> FakeGHL:
    """The fake GHL, and this process's settings pointed at it (for the server too). Its
    world's day 0 is the day of `clock_start` (default: today); a client lost by the install
    pull's day is back or gone from it by then, so GoCSM saw each one it sees cancelled paying
    before (sync/fakeghl/world.py, "Churn generator")."""
    fake = FakeGHL(
        clock_start=clock_start,
        observed_from=-days,  # the install pull's day
        seed=DEMO_SEED,
        agencies=[("BrightPath Agency", locations, "USD")],
        # The demo is not about rate limits: both sides allow far more than GHL does.
        burst=1_000_000,
        enforce_limits=False,
        stories=True,
        record_requests=False,
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
    # The plays' GHL workflow webhooks go to this fake (a local receiver, allowed in DEBUG only).
    local = url.removeprefix("http://")
    if local not in settings.PLAYBOOKS_LOCAL_RECEIVERS:
        settings.PLAYBOOKS_LOCAL_RECEIVERS = [*settings.PLAYBOOKS_LOCAL_RECEIVERS, local]
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
        "level",
        "conversation",
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


def _world_day(fake: FakeGHL, day: date) -> int:
    return (day - fake.world.epoch).days


def _write_activity(fake: FakeGHL, agency: Agency, days) -> None:
    """What the tracker records in GHL's interface, per person and day: the sub-accounts' own
    people (World.user_days) and, now and then, one of the agency's staff checking in. Written
    as a beacon flush writes them (analytics.ingest), all of the days' rows in one go."""
    world = fake.world
    staff = [p.id for p in world.agency_users(world.agency(agency.company_id), 0)]
    rows = []
    for day in days:
        n = _world_day(fake, day)
        for loc in world.locations(agency.company_id, n):
            if not world.installed_on(loc, n):
                continue  # the tracker is GoCSM's: gone with it
            for user_id, sessions, minutes in world.user_days(loc, n):
                rows.append((loc.id, user_id, day, sessions, minutes, False))
            if u(DEMO_SEED, "staff", loc.id, n) < 0.25:
                rows.append((loc.id, staff[n % len(staff)], day, 1, {"dashboard": 6}, True))
    record_user_activity_days(agency.pk, rows)


def _write_nps(fake: FakeGHL, agency: Agency, owner: GHLUser | None, days: list[date]):
    """The NPS prompt: switched on for every sub-account (each new one as it arrives), then the
    days' answers and dismissals (the stories' scripted ones, a third of the others' people
    once), each dated the day it was given."""
    from analytics.models import NpsOptIn, NpsResponse

    if not days:
        return
    world, now, today = fake.world, dj_tz.now(), days[-1]
    n_today = _world_day(fake, today)
    NpsOptIn.objects.bulk_create(
        [
            NpsOptIn(
                agency_id=agency.pk,
                location_ghl_id=loc.id,
                enabled_by=owner.ghl_id if owner else "",
            )
            for loc in world.locations(agency.company_id, n_today)
            if world.installed_on(loc, n_today)
        ],
        ignore_conflicts=True,
    )
    rows = []
    for day in days:
        n = _world_day(fake, day)
        for loc in world.locations(agency.company_id, n):
            if not world.installed_on(loc, n):
                continue
            rows.extend(
                NpsResponse(
                    agency_id=agency.pk,
                    location_ghl_id=loc.id,
                    user_ghl_id=person.id,
                    user_name=person.name,
                    outcome=NpsResponse.DISMISSED if rating is None else NpsResponse.ANSWERED,
                    rating=rating,
                    comment=comment,
                    day=day,
                    answered_at=now - timedelta(days=(today - day).days),
                )
                for person, rating, comment in _nps_answers(world, loc, n)
            )
    NpsResponse.objects.bulk_create(rows)


def _nps_answers(world, loc, n: int) -> list:
    """(person, rating or None for a dismissal, comment) given in a sub-account on day n."""
    people = world.account_users(loc, n)
    if loc.story:
        return [
            (people[k], rating, comment)
            for day, k, rating, comment in _story(loc.story).nps
            if day == n and k < len(people)
        ]
    answers = []
    if world.quiet_on(loc, n):
        return answers  # nobody logs in: nobody sees the prompt
    for person in people:
        if u(DEMO_SEED, "nps", person.id) >= 0.35:
            continue
        if n != -(5 + int(80 * u(DEMO_SEED, "nps-day", person.id))):
            continue
        level = min(world.level(loc, n), 1.4)
        noise = 3 * (u(DEMO_SEED, "nps-rating", person.id) - 0.5)
        answers.append((person, max(0, min(10, round(3 + 5 * level + noise))), ""))
    return answers


def _enter_manual_mrr(
    fake: FakeGHL, agency: Agency, owner: GHLUser, today: date, first: bool, after: date
):
    """The manual MRR the stories' owner entered after the day `after` up to this day (on the first
    day, also the entries dated before the install), through the one write path, audited, then
    the recompute the sub-account page's form queues."""
    from analytics import manualmrr
    from analytics.tasks import refresh_analytics_for_days

    n = _world_day(fake, today)
    entries: list = []
    for loc in fake.world.stories.values():
        for entered, since, cents, currency in _story(loc.story).manual:
            if _world_day(fake, after) < entered <= n or (first and entered < n):
                since_day = None if since is None else fake.world.epoch + timedelta(days=since)
                entry = manualmrr.Entry(loc.id, cents, currency, since_day)
                entries.append(manualmrr.check_entry(agency, entry, today))
    if entries:
        earliest = manualmrr.save_entries(agency, entries, user=owner, via="form")
        start = earliest or agency.installed_at.date() - timedelta(days=BACKFILL_DAYS)
        refresh_analytics_for_days.delay(agency.pk, start.isoformat(), today.isoformat())


def _story(key: str):
    from sync.fakeghl.stories import STORIES

    return next(s for s in STORIES if s.key == key)


def agency_owner(agency: Agency) -> GHLUser | None:
    """GHL's agency owner: the person who installed GoCSM (the fake's first staff member)."""
    from sync.models import Installation

    installer = Installation.objects.filter(agency=agency).values_list(
        "installer_user_id", flat=True
    )
    return GHLUser.objects.for_agency(agency).filter(ghl_id__in=installer).first()


@contextlib.contextmanager
def _simulating(fake: FakeGHL) -> Iterator[None]:
    """Settings, logging and transport for the simulated history, all restored after."""
    from sync.ghl.session import http_session

    saved = {name: getattr(settings, name) for name in ("SYNC_BACKFILL_DAYS", "DEBUG", "MAILERS")}
    settings.SYNC_BACKFILL_DAYS = BACKFILL_DAYS
    # The emails plays send while the history is replayed land in var/demo-mail/, one file each
    # run, instead of scrolling past on the console.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(settings.DATA_DIR / "demo-mail")},
        }
    }
    # DEBUG's query log would record every one of the build's queries.
    settings.DEBUG = False
    # One log line per task and run would be thousands of lines (and seconds) of noise here.
    quiet = [
        logging.getLogger(n)
        for n in ("celery", "sync", "analytics", "kombu", "playbooks", "accounts")
    ]
    # The embedded defaults' in-memory broker has no host, which kombu warns about once.
    quiet.append(logging.getLogger("kombu.connection"))
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.WARNING)
    quiet[-1].setLevel(logging.ERROR)
    session = http_session()
    trust_env = session.trust_env
    # The fake is on loopback: no proxy or netrc lookups per request.
    session.trust_env = False
    session.mount(fake.base_url, InProcessTransport(fake))
    try:
        yield
    finally:
        session.adapters.pop(fake.base_url, None)
        session.trust_env = trust_env
        for name, value in saved.items():
            setattr(settings, name, value)
        for lg, level in zip(quiet, levels, strict=True):
            lg.setLevel(level)
        fake.clock.set(datetime.now(UTC))


def _last_pull_day(agency: Agency) -> date | None:
    from sync.models import SyncRun

    last = SyncRun.objects.for_agency(agency).aggregate(at=Max("started_at"))["at"]
    return None if last is None else last.astimezone(agency_zone(agency)).date()


def build_demo_portfolio(
    stdout=None, *, days: int = HISTORY_DAYS, locations: int = DEMO_LOCATIONS
) -> str:
    """Build the demo, or bring an existing one up to today: re-install (the fake's tokens live
    only in memory) and simulate the days since it last ran, in the same world."""
    import time_machine

    from sync.tasks import pull_agency

    started = time.monotonic()
    use_fast_sqlite()
    now = datetime.now(UTC)
    existing = Agency.objects.filter(
        company_id=make_id(DEMO_SEED, "company", 0), is_installed=True
    ).first()
    last_day = None if existing is None else _last_pull_day(existing)
    if existing is not None and existing.installed_at is not None and last_day is not None:
        # Its world counts days from the day it was first built, as its history does.
        fake = start_fake(
            locations, clock_start=existing.installed_at + timedelta(days=days), days=days
        )
        first_offset = -max(0, (now.astimezone(agency_zone(existing)).date() - last_day).days - 1)
        _say(stdout, f"Demo agency already built: re-installing, then {-first_offset} more days.")
    else:
        fake = start_fake(locations, days=days)
        first_offset = -days
        _say(stdout, f"Installing {locations} sub-accounts through OAuth ...")
    _RUNNING.append(fake)  # lives as long as the process: the server talks to it
    with _simulating(fake):
        start = now + timedelta(days=first_offset)
        fake.clock.set(start)
        with time_machine.travel(start, tick=True):
            if existing is not None and last_day is not None:
                today = agency_today(existing)
                _write_activity(fake, existing, _days_after(last_day, today))
                previous = today
            agency = install_through_oauth(fake)
            # The books are set up once (by this run if no earlier one did): a later run keeps
            # what people changed.
            plan = None
            if not CSMAssignment.objects.for_agency(agency).exists():
                plan = _book_plan(fake, agency, first_stored_day(days), fake.world.day_of(now))
            if existing is None or last_day is None:
                previous = agency_today(agency) - timedelta(days=1)
            else:
                _repoint_plays(fake, agency)
            _subscribe(agency)  # it subscribed when its trial ended, months ago
        owner = agency_owner(agency)
        first, plays_on, pulls = existing is None, existing is not None, 0
        for offset in range(first_offset + 1, 1):
            if offset <= -DAILY_DAYS and (offset - first_offset) % CATCH_UP_EVERY:
                continue  # the older history: one pull a week, catching up the week's days
            moment = now + timedelta(days=offset)
            fake.clock.set(moment)
            with time_machine.travel(moment, tick=True):
                today = agency_today(agency)
                _write_activity(fake, agency, _days_after(previous, today))
                if owner is not None:
                    _enter_manual_mrr(fake, agency, owner, today, first=first, after=previous)
                _write_nps(fake, agency, owner, _days_after(previous, today))
                if plan is not None and (plays_on or offset >= PLAYS_ON_OFFSET):
                    # Before the plays go on, and for each client as it arrives: a play's task
                    # is for the sub-account's CSM (analytics.playbooks.seams.csm_for).
                    assign_books(fake, agency, owner, plan)
                if not plays_on and offset >= PLAYS_ON_OFFSET:
                    _switch_on_plays(fake, agency)
                    plays_on = True
                pull_agency(agency.pk, reason="demo", kind="counts")
                previous, first = today, False
            pulls += 1
            if pulls % 15 == 0 or offset == 0:
                _say(stdout, f"  simulated {today} ({time.monotonic() - started:.0f} s)")
    _train_churn(agency, stdout)
    if plan is not None:
        assign_books(fake, agency, owner, plan)  # a run that pulled no day has not yet
        tag_portfolio(fake, agency, owner)
    return _summary(agency, fake, started)


# The owner switched plays on 45 days ago: episodes that started before (from the first weeks
# of the history) are the "play off" group the plays' outcomes compare with.
PLAYS_ON_OFFSET = -45
DEMO_PLAYS = ("quiet_14", "band_drop", "usage_down", "onboarding_stalled")


def _workflow_hook(fake: FakeGHL, agency: Agency) -> str:
    """An Inbound Webhook trigger of a workflow in the agency's own sub-account (on the fake)."""
    from accounts.models import Location

    home = Location.objects.for_agency(agency).order_by("pk").values_list("ghl_id", flat=True)
    return fake.add_inbound_webhook(home.first() or "agency")


def _switch_on_plays(fake: FakeGHL, agency: Agency) -> None:
    """What the owner did on the Playbooks page: ready-made plays, on in one click each; the
    "gone quiet" one calls a GHL workflow's inbound webhook (on the fake GHL)."""
    from analytics.playbooks import library

    for key in DEMO_PLAYS:
        ghl_url = _workflow_hook(fake, agency) if library.BY_KEY[key].ghl else ""
        play, _secret, form = library.switch_on(agency, key, ghl_url=ghl_url)
        if play is None:
            raise RuntimeError(f"demo play {key} refused: {form.errors.as_text()}")


def _repoint_plays(fake: FakeGHL, agency: Agency) -> None:
    """A new run starts a new fake on another port: point the demo's GHL workflow webhooks at
    a trigger of this one (the old URL's fake is gone)."""
    from analytics.playbooks.models import Play
    from gocsm.encryption import encrypt

    for play in Play.objects.for_agency(agency).exclude(ghl_webhook_secret_url=""):
        play.ghl_webhook_secret_url = encrypt(_workflow_hook(fake, agency))
        play.save(update_fields=["ghl_webhook_secret_url", "updated_at"])


def _train_churn(agency: Agency, stdout) -> None:
    """What the weekly beat does: the agency's churn model from its own history (analytics.churn);
    a short history (`--days` under about 400) leaves it in cold start, and the pages say so."""
    from analytics import churn

    model = churn.train(agency)
    if model.status == model.STATUS_MODEL:
        pooled = (model.backtest.get("pooled") or {}).get(str(model.horizon_days)) or {}
        auc = pooled.get("auc")
        backtest = (
            f"; backtest over {pooled['cutoffs']} monthly cutoffs, {model.horizon_days}-day AUC "
            f"{auc:.2f} (rules {pooled['rules_auc']:.2f})"
            if auc is not None and pooled.get("rules_auc") is not None
            else ""
        )
        _say(stdout, f"Churn model trained on {model.events} churn events{backtest}.")
    else:
        _say(
            stdout,
            f"Churn model: cold start ({model.events} churn events, {model.events_needed} "
            f"needed; the default {HISTORY_DAYS} days of history have them).",
        )


# Who looks after which story (the rest of the sub-accounts are shared out, a few left without a
# CSM): each book has a sub-account to worry about and one doing well.
BOOKS = (
    (1, ("thriving", "halving", "recovering_usage", "manual_flat", "pounds_thriving", "new_fast")),
    (
        2,
        (
            "quiet",
            "payment",
            "stalled",
            "churned",
            "reactivated",
            "recovering_payment",
            "manual_raise",
            "new_recent",
        ),
    ),
)
RESTRICTED_CSM = 3  # sees only some sub-accounts in GHL: their book is among those
RESTRICTED_BOOK = 6
UNASSIGNED = 6
TAGS = {"referral partner": ("thriving", "pounds_thriving", "recovering_logins")}


def _book_plan(fake: FakeGHL, agency: Agency, first: int, last: int) -> dict[int, list[str]]:
    """Who looks after which sub-account, as staff index -> GHL ids: the stories as BOOKS says,
    the CSM GHL restricts some of what GHL lets them see on day `last`, the rest of the
    sub-accounts the history holds (days `first` to `last`) shared out by name among the BOOKS,
    UNASSIGNED of those still there on day `last` left without a CSM. A function of the world
    alone, so the owner can assign it as clients arrive (assign_books)."""
    world = fake.world
    company = agency.company_id
    staff = world.agency_users(world.agency(company), last)
    ever = sorted(world.locations_between(company, first, last), key=lambda loc: loc.name)
    ids = {loc.id for loc in ever}
    story = {key: loc.id for key, loc in world.stories.items() if loc.id in ids}
    assigned: set[str] = set()
    books: dict[int, list[str]] = {}
    if len(staff) > RESTRICTED_CSM:
        scripted = set(story.values())
        mine = [i for i in staff[RESTRICTED_CSM].location_ids if i in ids and i not in scripted]
        books[RESTRICTED_CSM] = mine[:RESTRICTED_BOOK]
        assigned.update(books[RESTRICTED_CSM])
    for index, keys in BOOKS:
        books[index] = [story[k] for k in keys if k in story and story[k] not in assigned]
        assigned.update(books[index])
    rest = [loc for loc in ever if loc.id not in assigned]
    there = [loc.id for loc in rest if loc.exists(last)]
    left_out = set(there[len(there) - min(UNASSIGNED, len(there)) :])
    shared = [loc.id for loc in rest if loc.id not in left_out]
    for k, ghl_id in enumerate(shared):
        books[BOOKS[k % len(BOOKS)][0]].append(ghl_id)
    return {index: ids for index, ids in books.items() if index < len(staff)}


def assign_books(
    fake: FakeGHL, agency: Agency, owner: GHLUser | None, plan: dict[int, list[str]]
) -> None:
    """The CSM books, as an owner sets them up (accounts.tagging: audited, by the owner): each
    sub-account of the plan that GoCSM knows and that has no CSM yet goes to its CSM (the
    fake's second and third staff members and a user GHL restricts to some sub-accounts), so a
    CSM who opens the GHL shell lands on a book with stories in it, and the plays' tasks for
    those sub-accounts are theirs."""
    from accounts import tagging
    from accounts.models import Location

    world = fake.world
    staff = world.agency_users(world.agency(agency.company_id), 0)  # ids do not change by day
    wanted = {i for ids in plan.values() for i in ids}
    taken = set(CSMAssignment.objects.for_agency(agency).values_list("location__ghl_id", flat=True))
    known = {
        loc.ghl_id: loc
        for loc in Location.objects.for_agency(agency).filter(ghl_id__in=wanted - taken)
    }
    if not known:
        return
    people = {u.ghl_id: u for u in GHLUser.objects.for_agency(agency).filter(deleted=False)}
    for index, ids in plan.items():
        person = people.get(staff[index].id)
        new = [known[i] for i in ids if i in known]
        if person is not None and new:
            tagging.assign_csm(agency, person, new, user=owner)


def tag_portfolio(fake: FakeGHL, agency: Agency, owner: GHLUser | None) -> None:
    """Tags, set up once as an owner would (accounts.tagging: audited, by the owner): premium
    on the sub-accounts on a Pro plan, "dental" and "referral partner" on a few."""
    from accounts import tagging
    from accounts.models import Location, Tag
    from analytics.models import LocationState

    if Tag.objects.for_agency(agency).filter(builtin="").exists():
        return  # the agency has its own tags: set up before, or by people since
    world = fake.world
    locations = {loc.ghl_id: loc for loc in Location.objects.for_agency(agency).order_by("name")}
    story = {key: loc.id for key, loc in world.stories.items() if loc.id in locations}

    def some(ids) -> list:
        return [locations[i] for i in ids if i in locations]

    premium = tagging.ensure_default_tags(agency)
    on_pro = LocationState.objects.for_agency(agency.pk).filter(plan_name__startswith="Pro")
    tagging.apply_tag(
        agency, premium, some(on_pro.values_list("location_ghl_id", flat=True)), user=owner
    )
    dental = tagging.create_tag(agency, "dental", user=owner)
    tagging.apply_tag(
        agency, dental, [loc for loc in locations.values() if "Dental" in loc.name], user=owner
    )
    for name, keys in TAGS.items():
        tag = tagging.create_tag(agency, name, user=owner)
        tagging.apply_tag(agency, tag, some(story.get(k) for k in keys), user=owner)


def _days_after(previous: date, today: date) -> list[date]:
    return [previous + timedelta(days=k + 1) for k in range((today - previous).days)]


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
    csms = sorted(set(CSMAssignment.objects.for_agency(agency).values_list("csm__name", flat=True)))
    books = f" CSM books: {', '.join(csms)}." if csms else ""
    return (
        f"Demo agency: {agency.name} with {locations} connected sub-accounts and {people} people; "
        f"fake GHL at {fake.base_url}; built in {time.monotonic() - started:.0f} s.{books}"
        + _playbook_walkthrough(agency)
    )


def _playbook_walkthrough(agency: Agency) -> str:
    """The closing note: one play followed from its trigger to the sub-account's recovery, as
    a new user finds it on the pages."""
    from accounts.models import Location
    from analytics.playbooks.models import Delivery, Episode, Play, Run, Task

    plays = Play.objects.for_agency(agency).filter(enabled=True).count()
    runs = Run.objects.for_agency(agency).select_related("play", "episode")
    if not plays or not runs.exists():
        return ""
    tasks = Task.objects.for_agency(agency)
    lines = [
        "",
        f"Playbooks: {plays} plays on, {runs.count()} firings, {tasks.count()} tasks "
        f"({tasks.filter(status=Task.OPEN).count()} open); emails in var/demo-mail/.",
    ]
    run = (
        runs.filter(episode__end_reason=Episode.END_RECOVERED, play__task_on=True)
        .order_by("-episode__ended_day")
        .first()
    )
    if run is None:
        return "\n".join(lines)
    ep = run.episode
    name = Location.objects.for_agency(agency).filter(ghl_id=ep.location_ghl_id).first()
    name = name.name if name else ep.location_ghl_id
    done = [
        d.get_action_display()
        for d in Delivery.objects.for_agency(agency).filter(run=run, status=Delivery.SENT)
    ]
    task = tasks.filter(run=run).select_related("assignee").first()
    lines += [
        f'Follow one: open Playbooks, then "{run.play.name}". On {ep.started_day} {name} '
        f"met its trigger ({ep.evidence or run.play.name}); the play ran once: "
        f"{', '.join(done) or 'nothing delivered'}"
        + (
            f", a task for {task.assignee.name if task.assignee else 'nobody'} due {task.due}"
            if task
            else ""
        )
        + ".",
        f"From {ep.ended_day} the condition was gone (3 days in a row): {name} recovered, its "
        "task closed itself (Tasks, Done), and the play's Outcomes count it among those recovered "
        "within 30 days, beside the sub-accounts that met the same trigger before the play was on.",
    ]
    return "\n".join(lines)
