"""A sub-account's state on a day: the one notion every figure reads.

Definitions (D is a day in the agency's timezone):

- **Exists.** A sub-account exists from its first day F, the earliest day with a fact row or an
  activity row. Before F it has no state: no score, not counted, not plotted.
- **Subscription on D** is the latest fact row on or before D that says anything about the GHL
  SaaS subscription (status, plan, MRR and currency travel together). A row without
  subscription fields (a backfilled day, a counts-only pull) changes nothing: the last known
  subscription carries forward, as every level does.
- **MRR on D** (analytics.revenue defines counted MRR):
  - from GHL when the subscription is known and is not "none": the counted MRR of its status;
  - otherwise from the manual MRR an owner or admin entered, if one is in force on D (the entry
    with the latest `since` on or before D; no `since` means from F on); an entry without an
    amount ends the manual figure;
  - otherwise unknown: the sub-account is **not billed in GHL**, shown as such, never as 0.
  - While the sub-account is deleted from GHL, its MRR is 0 (the subscription went with it).
- **Lifecycle on D**, the first rule that applies:
  1. *not connected*: on D GoCSM is uninstalled from the sub-account or the sub-account is
     deleted in GHL (the latest status change on or before D, accounts.lifecycle);
  2. *churned*: it paid before (MRR above 0 on an earlier day) and on D it pays nothing because
     its GHL subscription is cancelled or gone (status canceled or none) or its manual MRR was
     set to 0; paying again (reactivation) ends it;
  3. *onboarding*: D is within its first 30 days (F .. F + 29);
  4. *connected*: otherwise.
- **Scored on D**: the lifecycle is onboarding or connected. Not connected and churned days get no
  score, no flags and no alerts, and are left out of band counts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Max, Min, Q

from accounts.models import Agency, Location, LocationStatusChange
from analytics.agencyclock import agency_zone
from analytics.models import (
    Lifecycle,
    LocationDayFact,
    ManualMRR,
    MRRSource,
    UserActivityDay,
)
from analytics.revenue import COUNTED_STATUSES, counted_mrr

ONBOARDING_DAYS = 30
ENDED_STATUSES = frozenset({"canceled", "none"})
SCORED = frozenset({Lifecycle.ONBOARDING, Lifecycle.CONNECTED})
COLUMNS = (
    "agency_id",
    "location_ghl_id",
    "day",
    "lifecycle",
    "scored",
    "subscription_status",
    "plan_id",
    "mrr_cents",
    "currency",
    "mrr_source",
)


@dataclass(frozen=True, slots=True)
class Subscription:
    status: str
    plan_id: str
    mrr_cents: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class Manual:
    since: date | None
    mrr_cents: int | None
    currency: str


class _Schedule:
    """A step function of day: the value of the latest step on or before the day."""

    def __init__(self, steps: list[tuple[date, object]], before=None):
        steps.sort(key=lambda s: s[0])
        self.days = [d for d, _v in steps]
        self.values = [v for _d, v in steps]
        self.before = before

    def on(self, day: date):
        k = bisect_right(self.days, day)
        return self.values[k - 1] if k else self.before


def first_days(agency_id: int, locations: Iterable[str] | None = None) -> dict[str, date]:
    """F per sub-account: its earliest fact or activity day."""
    out: dict[str, date] = {}
    for model in (LocationDayFact, UserActivityDay):
        qs = model.objects.for_agency(agency_id)
        if locations is not None:
            qs = qs.filter(location_ghl_id__in=list(locations))
        for loc, d in (
            qs.values("location_ghl_id").annotate(d=Min("day")).values_list("location_ghl_id", "d")
        ):
            out[loc] = min(d, out.get(loc, d))
    return out


def _subscription_facts(agency_id, locations, first: date, last: date):
    """({loc: [(day, Subscription)]} for first..last, {loc: latest Subscription before first},
    {loc: True if it paid before first})."""
    known = Q(subscription_status__isnull=False)
    facts = LocationDayFact.objects.for_agency(agency_id).filter(location_ghl_id__in=locations)
    cols = ("location_ghl_id", "day", "subscription_status", "saas_plan_id", "mrr_cents")
    steps: dict[str, list] = {}
    for loc, day, status, plan, cents, cur in facts.filter(
        known, day__range=(first, last)
    ).values_list(*cols, "mrr_currency"):
        steps.setdefault(loc, []).append((day, Subscription(status, plan or "", cents, cur or "")))
    seed_days = dict(
        facts.filter(known, day__lt=first)
        .values("location_ghl_id")
        .annotate(d=Max("day"))
        .values_list("location_ghl_id", "d")
    )
    seeds = {}
    if seed_days:
        lookup = Q()
        for loc, d in seed_days.items():
            lookup |= Q(location_ghl_id=loc, day=d)
        for loc, _day, status, plan, cents, cur in facts.filter(lookup).values_list(
            *cols, "mrr_currency"
        ):
            seeds[loc] = Subscription(status, plan or "", cents, cur or "")
    paid = set(
        facts.filter(day__lt=first, mrr_cents__gt=0)
        .filter(Q(subscription_status__in=COUNTED_STATUSES) | Q(subscription_status__isnull=True))
        .values_list("location_ghl_id", flat=True)
        .distinct()
    )
    return steps, seeds, paid


def _manual_schedules(agency_id, locations, firsts: dict[str, date]) -> dict[str, _Schedule]:
    entries: dict[str, list] = {}
    for loc, since, cents, cur in (
        ManualMRR.objects.for_agency(agency_id)
        .filter(location_ghl_id__in=locations)
        .order_by("entered_at", "pk")
        .values_list("location_ghl_id", "since", "mrr_cents", "currency")
    ):
        start = since or firsts.get(loc) or date.min
        # A later entry for the same start day replaces the earlier one (entered order).
        kept = [e for e in entries.get(loc, []) if e[0] != start]
        entries[loc] = [*kept, (start, Manual(since, cents, (cur or "").upper()))]
    return {loc: _Schedule(steps) for loc, steps in entries.items()}


def _status_schedules(agency_id: int, locations) -> dict[str, _Schedule]:
    steps: dict[str, list] = {}
    zone = None
    for loc, at, status in (
        LocationStatusChange.objects.for_agency(agency_id)
        .filter(location_ghl_id__in=locations)
        .order_by("at", "pk")
        .values_list("location_ghl_id", "at", "status")
    ):
        if zone is None:
            zone = agency_zone(Agency.objects.filter(pk=agency_id).first())
        steps.setdefault(loc, []).append((at.astimezone(zone).date(), status))
    return {
        loc: _Schedule(s, before=Location.STATUS_ACTIVE)
        for loc, s in steps.items()
        # bisect keeps the last change of a day: the status the day ended with.
    }


def money_on(sub: Subscription | None, manual: Manual | None) -> tuple[int | None, str, str]:
    """(counted MRR or None, currency, source) from the day's subscription and manual entry."""
    if sub is not None and sub.status and sub.status != "none":
        return counted_mrr(sub.status, sub.mrr_cents), (sub.currency or "").upper(), MRRSource.GHL
    if manual is not None and manual.mrr_cents is not None:
        return manual.mrr_cents, manual.currency, MRRSource.MANUAL
    return None, "", MRRSource.NONE


def location_days(
    agency_id: int,
    first: date,
    last: date,
    locations: Iterable[str] | None = None,
    firsts: dict[str, date] | None = None,
) -> Iterator[tuple]:
    """The state rows (COLUMNS) of every existing sub-account (or of `locations`) for each day
    of first..last on or after its first day, sub-account by sub-account, days in order.
    `firsts`: the sub-accounts' first days when the caller has them (else read here)."""
    if firsts is None:
        firsts = first_days(agency_id, locations)
    elif locations is not None:
        firsts = {loc: firsts[loc] for loc in locations if loc in firsts}
    locs = sorted(loc for loc, f in firsts.items() if f <= last)
    if not locs:
        return
    steps, seeds, paid_before = _subscription_facts(agency_id, locs, first, last)
    manual = _manual_schedules(agency_id, locs, firsts)
    statuses = _status_schedules(agency_id, locs)
    for loc in locs:
        start = max(first, firsts[loc])
        onboarding_until = firsts[loc] + timedelta(days=ONBOARDING_DAYS - 1)
        subs = _Schedule(steps.get(loc, []), before=seeds.get(loc))
        man = manual.get(loc)
        status_of = statuses.get(loc)
        ever_paid = loc in paid_before or _paid_manually_before(man, start)
        day = start
        while day <= last:
            sub = subs.on(day)
            entry = man.on(day) if man is not None else None
            mrr, currency, source = money_on(sub, entry)
            status = status_of.on(day) if status_of is not None else Location.STATUS_ACTIVE
            if status == Location.STATUS_DELETED and mrr:
                mrr = 0
            if status != Location.STATUS_ACTIVE:
                lifecycle = Lifecycle.NOT_CONNECTED
            elif ever_paid and mrr == 0 and _ended(sub, source):
                lifecycle = Lifecycle.CHURNED
            elif ever_paid and mrr is None and sub is not None and sub.status == "none":
                lifecycle = Lifecycle.CHURNED  # its GHL subscription is gone, nothing replaced it
            elif day <= onboarding_until:
                lifecycle = Lifecycle.ONBOARDING
            else:
                lifecycle = Lifecycle.CONNECTED
            yield (
                agency_id,
                loc,
                day,
                lifecycle,
                lifecycle in SCORED,
                sub.status if sub is not None else "",
                sub.plan_id if sub is not None else "",
                mrr,
                currency,
                source,
            )
            ever_paid = ever_paid or (mrr or 0) > 0
            day += timedelta(days=1)


def _ended(sub: Subscription | None, source: str) -> bool:
    if source == MRRSource.MANUAL:
        return True  # a manual figure of 0 after paying: the client stopped paying
    return sub is not None and sub.status in ENDED_STATUSES


def _paid_manually_before(schedule: _Schedule | None, day: date) -> bool:
    if schedule is None:
        return False
    return any(
        d < day and (m.mrr_cents or 0) > 0
        for d, m in zip(schedule.days, schedule.values, strict=True)
    )
