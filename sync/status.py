"""What a signed-in person sees about the state of their data: the status area of every page and
the JSON its script polls (sync/views/status.py).

- The import. While the first pull and its 90-day backfill run (also after a reinstall, and when an
  owner, an admin or GoCSM staff starts a re-sync), how many sub-accounts are done of how many and
  about how long it has left. A first import's figures are incomplete until it has finished and
  the analytics recompute it queues has rebuilt the dashboards' state.
- The connection. GHL refused our grant (the agency is marked needs_reauth), and since when.
- Freshness. The figures are as of the last successful pull, shown in the agency's timezone, and
  stale when that is older than sync.freshness allows.

Hourly and daily pulls update figures that are already complete, so they show no progress bar;
they count as an import only while the agency has never had a successful one.

Cost on a healthy agency: one indexed query (its newest run) and one cache read. Others run only
while something is happening: the newest successful run before an open one, the run's first
report (the estimate), the installation (re-authorisation), the portfolio's refresh time (half
an hour after an import).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, router
from django.db.models import Min
from django.utils import timezone as dj_tz
from django.utils.dateformat import format as date_format

from accounts import pagecache
from accounts.models import Agency
from accounts.tenantsql import Select
from analytics.agencyclock import agency_zone
from gocsm.agencykeys import agency_cache_key
from sync import freshness, runs
from sync.models import Installation, SyncRun, SyncRunLocation

logger = logging.getLogger(__name__)

# Runs someone is waiting for: the install's first pull (and a reinstall's), an owner's or admin's
# re-sync, a staff re-sync from admin (pull_agency's default reason).
WATCHED_REASONS = frozenset({"install", "resync", "manual"})
SUCCESS = (SyncRun.STATUS_OK, SyncRun.STATUS_PARTIAL)
# After a watched run closes, its figures appear once the analytics recompute has run; past this
# the recompute is late or lost (the nightly one catches up) and the page stops waiting for it.
FINISHING_WINDOW = timedelta(minutes=30)
# A re-sync the worker has not started yet shows as "starting" for this long.
QUEUED_WINDOW = timedelta(minutes=5)

QUEUED, LISTING, IMPORTING, FINISHING = "queued", "listing", "importing", "finishing"


def resync_key(agency_id: int) -> str:
    """Cache key holding when the last re-sync was asked for (sync/resync.py writes it)."""
    return agency_cache_key(agency_id, "sync", "resync")


@dataclass(frozen=True)
class Import:
    phase: str
    done: int = 0
    total: int = 0
    eta_seconds: int | None = None
    # No successful import before this one: the figures are incomplete until it finishes.
    first: bool = False

    @property
    def percent(self) -> int:
        if self.phase == FINISHING:
            return 100
        return min(99, 100 * self.done // self.total) if self.total else 0


def eta_text(seconds: int | None) -> str:
    if seconds is None:
        return "estimating the time left"
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''} left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


@dataclass(frozen=True)
class Status:
    zone: ZoneInfo
    now: datetime
    running: Import | None = None
    needs_reauth: bool = False
    # When GHL refused the grant (the installation's revoked_at); None: never connected by OAuth.
    lost_at: datetime | None = None
    as_of: datetime | None = None
    stale: bool = False
    # Sub-accounts the last successful pull could not read, of how many.
    last_failed: int = 0
    last_total: int = 0
    # Pulls were tried, none ever succeeded and none is running (GHL down on day one).
    never_completed: bool = False
    # When an owner or admin last asked for a re-sync, while that still holds the next one back.
    resync_asked_at: datetime | None = None
    # The viewer (for_request): owner or admin; limited to some sub-accounts (no portfolio-wide
    # counts); may start a re-sync now.
    manager: bool = False
    restricted: bool = False
    can_resync: bool = False

    @property
    def importing(self) -> bool:
        return self.running is not None

    @property
    def incomplete(self) -> bool:
        """The figures do not yet cover the whole portfolio: say so wherever they are shown."""
        return (self.running is not None and self.running.first) or self.never_completed

    # --- wording (one place, shared by the page and the JSON the page polls) ------------------
    @property
    def import_title(self) -> str:
        first = self.running is not None and self.running.first
        if self.restricted:  # people who see some sub-accounts, not the agency's portfolio
            return "Importing from GoHighLevel" if first else "Updating figures from GoHighLevel"
        if first:
            return "Importing your portfolio from GoHighLevel"
        return "Updating your figures from GoHighLevel"

    @property
    def import_message(self) -> str:
        run = self.running
        if run is None:
            return ""
        if run.phase == QUEUED:
            return "Starting in a moment…"
        if run.phase == LISTING:
            return "Reading the list of sub-accounts…"
        if run.phase == FINISHING:
            return "Every sub-account is read; computing scores and totals…"
        eta = eta_text(run.eta_seconds)
        if self.restricted:
            return f"{run.percent} % done · {eta}"
        return f"{run.done} of {run.total} sub-accounts done · {eta}"

    @property
    def so_far(self) -> str:
        """The mark on an incomplete figure."""
        run = self.running
        if run is None:
            return "the first import has not finished yet"
        if run.phase in (QUEUED, LISTING):
            return "importing — no sub-accounts read yet"
        if run.phase == FINISHING:
            return "importing — computing totals"
        if self.restricted:
            return f"importing — {run.percent} % so far"
        return f"importing — {run.done} of {run.total} sub-accounts so far"

    def local(self, moment: datetime | None) -> str:
        """`moment` in the agency's timezone: "today 14:05 CST", "yesterday 09:10 CST",
        "Mon 3 Mar, 14:05 CST" (with the year when it is not this year's)."""
        if moment is None:
            return ""
        here = moment.astimezone(self.zone)
        today = self.now.astimezone(self.zone).date()
        clock = date_format(here, "H:i T")
        if here.date() == today:
            return f"today {clock}"
        if here.date() == today - timedelta(days=1):
            return f"yesterday {clock}"
        day = date_format(here, "D j M" if here.year == today.year else "D j M Y")
        return f"{day}, {clock}"

    @property
    def as_of_text(self) -> str:
        return self.local(self.as_of)

    @property
    def lost_at_text(self) -> str:
        if self.lost_at is None:
            return ""
        return date_format(self.lost_at.astimezone(self.zone), "j F Y, H:i T")

    @property
    def resync_again_text(self) -> str:
        """When the next re-sync may start (the rate limit), for owners and admins."""
        if self.resync_asked_at is None:
            return ""
        again = self.resync_asked_at + timedelta(seconds=settings.SYNC_RESYNC_MIN_INTERVAL_SECONDS)
        return date_format(again.astimezone(self.zone), "H:i T") if again > self.now else ""

    @property
    def stale_for(self) -> str:
        if self.as_of is None:
            return ""
        hours = (self.now - self.as_of).total_seconds() / 3600
        return f"{round(hours)} hours" if hours < 48 else f"{round(hours / 24)} days"

    def as_json(self) -> dict:
        run = self.running
        counts = run is not None and not self.restricted
        return {
            "importing": run is not None,
            "phase": run.phase if run else None,
            "done": run.done if counts else None,
            "total": run.total if counts else None,
            "percent": run.percent if run else None,
            "eta_seconds": run.eta_seconds if run else None,
            "message": self.import_message,
            "incomplete": self.incomplete,
            "needs_reauth": self.needs_reauth,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "as_of_text": self.as_of_text,
        }


# The agency's newest run, read on every page (accounts.tenantsql: the ORM spent four times the
# database's time building this query, bench/dashboard.py). A queued row exists only inside
# runs.open_run, before the lock decides whether it runs.
_LATEST = Select(
    SyncRun,
    tuple(f.attname for f in SyncRun._meta.concrete_fields),
    where=(("status", "!="),),
    order_by=("-requested_at",),
    limit=1,
)


def _latest_run(agency: Agency) -> SyncRun | None:
    row = _LATEST.first(agency.pk, SyncRun.STATUS_QUEUED)
    if row is None:
        return None
    return SyncRun.from_db(router.db_for_read(SyncRun), _LATEST.columns, row)


def _newest_success(agency: Agency, before: datetime | None = None) -> SyncRun | None:
    qs = SyncRun.objects.for_agency(agency).filter(status__in=SUCCESS)
    if before is not None:
        qs = qs.filter(requested_at__lt=before)
    return qs.order_by("-requested_at").first()


def _eta_seconds(run: SyncRun, now: datetime) -> int | None:
    """Time left at the pace this run has kept so far.

    The pace is measured from the run's first sub-account report to now: (done - 1) sub-accounts
    reported in that time, so each takes elapsed / (done - 1), and the rest take that times the
    sub-accounts still to come. Starting at the first report leaves out the agency step (listing
    sub-accounts and users), which does not repeat per sub-account; counting to now rather than
    to the last report makes the estimate grow while the run stalls (a 429 storm, GHL down)
    instead of promising the same minutes. GHL's per-agency rate budget, which every sub-account
    shares, keeps a large import's pace steady, so a straight line is a fair forecast. With one
    report there is no pace yet: the time since the run started stands in for it.
    """
    left = run.locations_total - run.locations_done
    if run.locations_done == 0 or left <= 0:
        return None
    first = (
        SyncRunLocation.objects.for_agency(run.agency_id)
        .filter(run_id=run.pk)
        .aggregate(at=Min("finished_at"))["at"]
    )
    if run.locations_done >= 2 and first is not None:
        per_location = (now - first).total_seconds() / (run.locations_done - 1)
    else:
        per_location = (now - (run.started_at or run.requested_at)).total_seconds()
    return max(0, round(per_location * left))


def _analytics_caught_up(agency: Agency, since: datetime) -> bool:
    from analytics.models import PortfolioState

    try:
        refreshed = (
            PortfolioState.objects.for_agency(agency.pk)
            .values_list("refreshed_at", flat=True)
            .first()
        )
    except DatabaseError:  # the analytics database is away: the pages say so themselves
        return True
    return refreshed is not None and refreshed >= since


def _resync_asked_at(agency: Agency, request=None) -> datetime | None:
    """Read with the page's other cached values when there is a page (accounts.pagecache)."""
    from django.core.cache import cache

    try:
        if request is not None:
            raw = pagecache.get(request, "resync asked")
        else:
            raw = cache.get(resync_key(agency.pk))
    except Exception:  # the shared cache being away must not break every page
        logger.warning("resync marker unreadable agency=%s", agency.pk)
        return None
    try:
        return datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def status_for(agency: Agency, *, now: datetime | None = None, request=None) -> Status:
    """The agency's data status (the viewer's part is added by for_request, which passes its
    request)."""
    now = now or dj_tz.now()
    out = Status(zone=agency_zone(agency), now=now, needs_reauth=agency.needs_reauth)
    latest = _latest_run(agency)
    running: Import | None = None
    last_ok: SyncRun | None = None
    if latest is not None and runs.is_running(latest):
        last_ok = _newest_success(agency, before=latest.requested_at)
        if latest.reason in WATCHED_REASONS or last_ok is None:
            running = _import_of(latest, now, first=last_ok is None)
    elif latest is not None:
        last_ok = latest if latest.status in SUCCESS else _newest_success(agency)
        if (
            latest is last_ok
            and latest.reason in WATCHED_REASONS
            and latest.first_day is not None  # it queued a recompute of the days it wrote
            and now - latest.finished_at < FINISHING_WINDOW
            and not _analytics_caught_up(agency, latest.finished_at)
        ):
            first = _newest_success(agency, before=latest.requested_at) is None
            running = Import(FINISHING, latest.locations_total, latest.locations_total, None, first)
    asked = _resync_asked_at(agency, request)
    out = replace(out, resync_asked_at=asked)
    if running is None and not agency.needs_reauth:
        running = _queued(agency, latest, asked, now, first=last_ok is None)
    if last_ok is not None:
        out = replace(
            out,
            as_of=last_ok.finished_at,
            last_failed=last_ok.locations_failed,
            last_total=last_ok.locations_total,
        )
    if agency.needs_reauth:
        inst = Installation.objects.filter(agency=agency).only("revoked_at").first()
        out = replace(out, lost_at=inst.revoked_at if inst is not None else None)
        running = None  # no pull runs without a grant; the banner says why
    stale = out.as_of is not None and now - out.as_of > freshness.stale_after()
    return replace(
        out,
        running=running,
        stale=stale and running is None,
        never_completed=latest is not None and last_ok is None and running is None,
    )


def _import_of(run: SyncRun, now: datetime, *, first: bool) -> Import:
    if run.locations_total == 0:
        return Import(LISTING, first=first)
    if run.locations_done >= run.locations_total:
        return Import(FINISHING, run.locations_done, run.locations_total, None, first)
    return Import(IMPORTING, run.locations_done, run.locations_total, _eta_seconds(run, now), first)


def _queued(agency: Agency, latest: SyncRun | None, asked, now: datetime, *, first: bool):
    """Asked for, not started yet: a re-sync waiting for a worker, or a fresh install whose first
    pull has not opened its run."""
    started = latest is not None and latest.requested_at >= asked if asked else False
    if asked is not None and now - asked < QUEUED_WINDOW and not started:
        return Import(QUEUED, first=first)
    if latest is None:
        inst = Installation.objects.filter(agency=agency).first()
        if inst is not None and inst.has_tokens:
            return Import(QUEUED, first=True)
    return None


def for_request(request) -> Status | None:
    """The status for the signed-in person, computed once per request; None when anonymous or
    when the database cannot tell (the page then shows no status rather than failing)."""
    agency = getattr(request, "agency", None)
    user = getattr(request, "ghl_user", None)
    if agency is None or user is None:
        return None
    if not hasattr(request, "_sync_status"):
        try:
            status = status_for(agency, request=request)
        except DatabaseError:
            logger.warning("sync status unavailable agency=%s", agency.pk)
            status = None
        if status is not None:
            from billing.gating import access_for_request

            manager = user.is_owner_or_admin
            access = access_for_request(request) if manager else None
            status = replace(
                status,
                manager=manager,
                restricted=getattr(request, "allowed_location_ids", None) is not None,
                can_resync=manager
                and not status.needs_reauth
                and status.running is None
                and not (access is not None and access.read_only)
                and status.resync_asked_at is None,
            )
        request._sync_status = status
    return request._sync_status
