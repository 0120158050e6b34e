"""Pulling from GHL: one function per pull, each writing rows keyed on agency + GHL id.

- `pull_agency_overview`: the sub-account list (installed locations + location search + SaaS
  locations), the agency's user list, and today's agency-level facts per sub-account (users by
  role, SaaS plan, subscription status, MRR). Returns the sub-accounts to pull.
- `pull_location`: one sub-account's levels today (workflows, calendars, products,
  conversations) and, for a counts pull, its flows per day (appointments booked, conversations
  created / inbound / outbound, workflows created / updated) from where the last counts pull
  stopped (or 90 days back on the first pull) to today.

Days are the agency's (analytics.agencyclock). Every write goes through analytics.ingest, which
upserts, so running any pull twice leaves the same rows. These functions raise the client's
errors (sync.ghl.errors); sync/tasks.py decides about retries and stop reasons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone as dj_tz

from accounts import lifecycle
from accounts.models import Agency, GHLUser, Location, SaasPlan
from analytics.agencyclock import agency_zone
from analytics.ingest import LocationDayFacts, record_location_day, record_location_days
from sync.credentials import client_for_agency
from sync.ghl.errors import BadResponse, GHLError, NotFound, NotPermitted
from sync.ghl.records import SaasLocationRecord, SaasPlanRecord
from sync.models import LocationPullState
from sync.usersync import sync_users, users_by_location

logger = logging.getLogger(__name__)

BACKFILL_DAYS = 90  # the default of settings.SYNC_BACKFILL_DAYS
# Appointments are listed by start time; one booked on day D that starts more than this long
# after D is missed by the day-D count (GHL offers no "booked between" filter).
APPOINTMENT_LOOKAHEAD_DAYS = 31
_STATUS_ALIASES = {"cancelled": "canceled", "trial": "trialing", "past due": "past_due"}
_KNOWN_STATUSES = {"active", "trialing", "past_due", "canceled", "unpaid", "paused", "none"}
# Statuses that bill (analytics.revenue's definition of MRR): a past-due or unpaid subscription is
# still owed, at risk but not yet lost, until it is cancelled.
_BILLING_STATUSES = {"active", "past_due", "unpaid"}


@dataclass
class PullResult:
    requests: int = 0
    rows: int = 0
    first_day: date | None = None
    last_day: date | None = None
    location_ids: list[str] = field(default_factory=list)

    def touch(self, day: date) -> None:
        self.first_day = day if self.first_day is None else min(self.first_day, day)
        self.last_day = day if self.last_day is None else max(self.last_day, day)


def agency_today(agency: Agency) -> date:
    return dj_tz.now().astimezone(agency_zone(agency)).date()


def day_window(agency: Agency, day: date) -> tuple[datetime, datetime]:
    zone = agency_zone(agency)
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start, end


def _local_day(agency: Agency, moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(agency_zone(agency)).date()


def _write(agency: Agency, location_ghl_id: str, day: date, facts, result: PullResult) -> None:
    if record_location_day(agency.pk, location_ghl_id, day, facts):
        result.rows += 1
    result.touch(day)


# --- SaaS: plan, status and MRR ------------------------------------------------------------------
def normalise_status(raw: str) -> str:
    status = (raw or "").strip().lower().replace("-", "_")
    status = _STATUS_ALIASES.get(status, status)
    return status if status in _KNOWN_STATUSES else ("none" if not status else "active")


def mrr_for(
    sub: SaasLocationRecord | None, plans: dict[str, SaasPlanRecord], currency: str
) -> tuple[str, str, int, str]:
    """(plan id, status, MRR in minor units, currency) of one sub-account's SaaS subscription.

    MRR is the plan price per month (yearly / 12, rounded half up: gocsm.money). Trials, one-time
    prices and subscriptions that do not bill count zero; the price's own currency is kept.
    """
    if sub is None:
        return "", "none", 0, currency
    status = normalise_status(sub.subscription_status)
    plan = plans.get(sub.plan_id)
    price = plan.price(sub.price_id) if plan else None
    if price is None:
        return sub.plan_id, status, 0, currency
    cents = price.monthly_cents or 0
    if status not in _BILLING_STATUSES:
        cents = 0
    return sub.plan_id, status, cents, price.currency or currency


def _saas(client) -> tuple[dict[str, SaasLocationRecord], dict[str, SaasPlanRecord]]:
    """SaaS is an Agency Pro feature: an agency without it has no subscriptions to read."""
    try:
        subs = {s.location_id: s for s in client.iter_saas_locations()}
        plans = {p.plan_id: p for p in client.agency_plans()}
    except (NotPermitted, NotFound):
        return {}, {}
    for loc_id, sub in list(subs.items()):
        if not sub.subscription_status and sub.plan_id:
            # The list did not say; ask the subscription itself (one call, only when needed).
            try:
                one = client.saas_subscription(loc_id)
            except (NotPermitted, NotFound):
                continue
            subs[loc_id] = SaasLocationRecord(
                loc_id, one.saas_mode, one.plan_id, one.price_id, one.subscription_status
            )
    return subs, plans


# --- the agency's overview ---------------------------------------------------------------------
def _refuse_implausibly_empty(agency: Agency, *, found: dict, users: list, known: dict) -> None:
    """GHL's complete lists decide who and what is gone, so an empty answer (a 200 with `[]`
    from a GHL fault) would mark every sub-account deleted and sign every person out. An agency
    always has agency-level people (its owner), and sub-accounts vanish one by one: an empty list
    where we know some is refused as a bad answer, the run records it and the next one retries."""
    if known and not found:
        raise BadResponse(f"GHL listed no sub-accounts; {len(known)} are known")
    if not any(rec.type == "agency" for rec in users) and (
        GHLUser.objects.for_agency(agency).filter(deleted=False, ghl_type="agency").exists()
    ):
        raise BadResponse("GHL listed none of the agency's own people")


def pull_agency_overview(agency: Agency, *, client=None, on_listed=None) -> PullResult:
    """Refresh sub-accounts, users and agency-level facts. Returns the sub-accounts to pull.

    `on_listed(location_ids)` is called once GHL's lists are read and before anything is written,
    with the same sub-accounts the result will name (the caller can start on them meanwhile)."""
    client = client or client_for_agency(agency)
    result = PullResult()
    try:
        installed = {rec.id: rec for rec in client.iter_installed_locations()}
        found = {rec.id: rec for rec in client.iter_locations()}
        subs, plans = _saas(client)
        users = list(client.iter_users())
    finally:
        result.requests = client.requests_made
    known = {loc.ghl_id: loc for loc in Location.objects.for_agency(agency)}
    _refuse_implausibly_empty(agency, found=found, users=users, known=known)
    if on_listed is not None:
        on_listed(sorted(g for g, rec in installed.items() if rec.is_installed and g in found))
    today = agency_today(agency)
    now = dj_tz.now()
    pull_ids = []
    by_status: dict[str, list[str]] = {}
    with transaction.atomic():
        for ghl_id in found.keys() | installed.keys():
            meta = found.get(ghl_id)
            inst = installed.get(ghl_id)
            sub = subs.get(ghl_id)
            is_installed = bool(inst and inst.is_installed)
            status = Location.STATUS_ACTIVE if is_installed else Location.STATUS_UNINSTALLED
            values = {
                "is_installed": is_installed,
                "saas_plan_id": sub.plan_id if sub else "",
                "saas_mode": sub.saas_mode if sub else "",
                "subscription_status": normalise_status(sub.subscription_status) if sub else "",
            }
            if meta is not None:
                values.update(
                    name=meta.name,
                    city=meta.city,
                    state=meta.state,
                    country=meta.country,
                    timezone=meta.timezone,
                )
            elif inst is not None and inst.name:
                values["name"] = inst.name
            current = known.get(ghl_id)
            if current is None:
                created = Location.objects.create(
                    agency=agency, ghl_id=ghl_id, first_seen_at=now, status=status, **values
                )
                lifecycle.record_new(agency, created)
            else:
                if any(getattr(current, k) != v for k, v in values.items()):
                    Location.objects.for_agency(agency).filter(pk=current.pk).update(**values)
                if current.status != status and meta is not None:
                    by_status.setdefault(status, []).append(ghl_id)
            if is_installed and meta is not None:
                pull_ids.append(ghl_id)
        for status, ghl_ids in by_status.items():
            lifecycle.set_status(agency, ghl_ids, status, at=now)
        # Gone from GHL's lists (deleted sub-accounts): not connected from today, history kept.
        gone = [g for g, loc in known.items() if g not in found and loc.status != "deleted"]
        if gone:
            lifecycle.set_status(agency, gone, Location.STATUS_DELETED, at=now, is_installed=False)
        _save_plan_names(agency, plans)
        result.rows += sync_users(agency, users)
    people = users_by_location(users)
    # Sub-accounts GoCSM is not installed in still exist in GHL, and their SaaS subscription is
    # the agency's to read: their MRR stays known (their usage does not).
    for ghl_id in sorted(found):
        admins, regular = people.get(ghl_id, (0, 0))
        plan_id, status, cents, currency = mrr_for(subs.get(ghl_id), plans, agency.currency)
        facts = LocationDayFacts(
            users_total=admins + regular,
            users_admin=admins,
            users_user=regular,
            saas_plan_id=plan_id,
            subscription_status=status,
            mrr_cents=cents,
            mrr_currency=(currency or agency.currency or "USD").upper()[:3],
        )
        _write(agency, ghl_id, today, facts, result)
    result.location_ids = sorted(pull_ids)
    return result


def _save_plan_names(agency: Agency, plans: dict[str, SaasPlanRecord]) -> None:
    """Keep each SaaS plan's title so pages name plans instead of showing GHL's ids."""
    known = dict(SaasPlan.objects.for_agency(agency).values_list("plan_id", "name"))
    for plan_id, plan in plans.items():
        if known.get(plan_id) != plan.title:
            SaasPlan.objects.for_agency(agency).update_or_create(
                agency=agency, plan_id=plan_id, defaults={"name": plan.title}
            )


# --- location tokens ahead of the sub-accounts ---------------------------------------------------
def mint_location_tokens(agency: Agency, location_ids: list[str], *, client=None) -> PullResult:
    """Mint (and cache) the location tokens of these sub-accounts that are not cached yet.

    Every mint spends the agency's budget, the one resource all of an agency's sub-accounts share,
    so a pull mints from the moment it knows its sub-accounts instead of one by one as each
    sub-account's task starts. Stops at the first sign of trouble (rate limits, GHL down, a
    revoked grant): each sub-account's task mints its own token anyway, with its retries."""
    client = client or client_for_agency(agency)
    result = PullResult()
    try:
        for location_id in location_ids:
            try:
                client.tokens.prime_location_token(location_id, client)
            except (NotFound, NotPermitted, BadResponse):
                continue  # this sub-account only; its own task reports why
    except GHLError as exc:
        logger.info(
            "location tokens not minted ahead agency=%s error=%s", agency.pk, type(exc).__name__
        )
    finally:
        result.requests = client.requests_made
    return result


# --- one sub-account ---------------------------------------------------------------------------
def counts_days(agency: Agency, location_ghl_id: str, today: date) -> list[date]:
    """The days a counts pull covers: from where the last one stopped (that day may have been
    partial) to today; on the first pull, the last BACKFILL_DAYS days, but never days before a
    sub-account that appeared after the agency's install was first seen: it did not exist yet,
    and a fact row would make it look older than it is."""
    state = (
        LocationPullState.objects.for_agency(agency).filter(location_ghl_id=location_ghl_id).first()
    )
    earliest = today - timedelta(days=max(1, settings.SYNC_BACKFILL_DAYS) - 1)
    first_seen = (
        Location.objects.for_agency(agency)
        .filter(ghl_id=location_ghl_id)
        .values_list("first_seen_at", flat=True)
        .first()
    )
    if first_seen is not None and agency.installed_at is not None:
        seen_day = _local_day(agency, first_seen)
        if seen_day > _local_day(agency, agency.installed_at):
            earliest = max(earliest, seen_day)
    start = earliest
    if state is not None and state.counts_through is not None:
        start = max(earliest, min(state.counts_through, today))
    return [start + timedelta(days=i) for i in range((today - start).days + 1)]


def _by_day(agency: Agency, moments, days: set[date]) -> dict[date, int]:
    out = dict.fromkeys(days, 0)
    for moment in moments:
        day = _local_day(agency, moment)
        if day in out:
            out[day] += 1
    return out


def pull_location(agency: Agency, location_ghl_id: str, *, counts: bool, client=None) -> PullResult:
    """Pull one sub-account. `counts` adds the per-day flows (the daily and the install pull)."""
    client = client or client_for_agency(agency)
    result = PullResult()
    today = agency_today(agency)
    try:
        workflows = client.workflows(location_ghl_id)
        calendars = client.calendars(location_ghl_id)
        if counts:
            products = list(client.iter_products(location_ghl_id))
            products_total = len(products)
        else:
            products, products_total = [], client.count_products(location_ghl_id)
        conversations_total = client.count_conversations(location_ghl_id)
        days = counts_days(agency, location_ghl_id, today) if counts else []
        flows = _pull_flows(agency, client, location_ghl_id, days, calendars) if days else {}
    finally:
        result.requests = client.requests_made
    levels = {
        "workflows_total": len(workflows),
        "workflows_published": sum(1 for w in workflows if w.status == "published"),
        "workflows_draft": sum(1 for w in workflows if w.status == "draft"),
        "calendars_total": len(calendars),
        "calendars_active": sum(1 for c in calendars if c.is_active),
        "products_total": products_total,
        "conversations_total": conversations_total,
    }
    if days:
        day_set = set(days)
        wf_created = _by_day(agency, (w.created_at for w in workflows), day_set)
        # Only the latest edit of each workflow is known, so "updated" counts that edit's day.
        wf_updated = _by_day(agency, (w.updated_at for w in workflows), day_set)
        by_day = {}
        for day in days:
            _, end = day_window(agency, day)
            facts = {
                **flows[day],
                "workflows_created": wf_created[day],
                "workflows_updated": wf_updated[day],
            }
            if day != today:
                # What GHL can date: totals of workflows and products that existed by then.
                facts["workflows_total"] = sum(
                    1 for w in workflows if w.created_at is not None and w.created_at < end
                )
                facts["products_total"] = sum(
                    1 for p in products if p.created_at is not None and p.created_at < end
                )
            else:
                facts.update(levels)
            by_day[day] = LocationDayFacts(**facts)
        # The days caught up in one read and one write (a 90-day install backfill, a week).
        result.rows += len(record_location_days(agency.pk, location_ghl_id, by_day))
        for day in days:
            result.touch(day)
    if not days or today not in days:
        _write(agency, location_ghl_id, today, LocationDayFacts(**levels), result)
    _mark_pulled(agency, location_ghl_id, today if counts else None)
    return result


def _pull_flows(agency, client, location_ghl_id, days, calendars) -> dict[date, dict]:
    first_start, _ = day_window(agency, days[0])
    _, last_end = day_window(agency, days[-1])
    booked: dict[str, datetime] = {}
    lookahead = last_end + timedelta(days=APPOINTMENT_LOOKAHEAD_DAYS)
    for cal in calendars:
        for appt in client.appointments(location_ghl_id, cal.id, first_start, lookahead):
            if appt.date_added is not None:
                booked[appt.id] = appt.date_added
    per_day_booked = _by_day(agency, booked.values(), set(days))
    flows = {}
    for day in days:
        start, end = day_window(agency, day)
        # GHL's endDate is inclusive: stop a millisecond before the next day starts.
        end = end - timedelta(milliseconds=1)
        flows[day] = {
            "appointments_booked": per_day_booked[day],
            "conversations_created": client.count_conversations(
                location_ghl_id, start=start, end=end
            ),
            "conversations_inbound": client.count_conversations(
                location_ghl_id, start=start, end=end, direction="inbound"
            ),
            "conversations_outbound": client.count_conversations(
                location_ghl_id, start=start, end=end, direction="outbound"
            ),
        }
    return flows


def _mark_pulled(agency: Agency, location_ghl_id: str, counts_through: date | None) -> None:
    now = dj_tz.now()
    defaults = {"last_success_at": now, "last_stop_reason": ""}
    if counts_through is not None:
        defaults["counts_through"] = counts_through
    LocationPullState.objects.for_agency(agency).update_or_create(
        agency=agency, location_ghl_id=location_ghl_id, defaults=defaults
    )
    Location.objects.for_agency(agency).filter(ghl_id=location_ghl_id).update(last_synced_at=now)
