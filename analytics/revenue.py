"""MRR and its monthly movements.

MRR of a sub-account on a day = its SaaS subscription's plan price per month (yearly prices / 12,
rounded half up to the cent: gocsm.money; one-time fees never), counted only while the
subscription is active, past_due or unpaid (a failing payment is still revenue until the
subscription is cancelled, as ChartMogul counts it); trialing, paused, canceled and none count 0.
The subscription of a day is the latest one known on or before it, and an owner's manual MRR
stands in where GHL has none (analytics.daystate defines both). Amounts are kept per currency:
USD is never summed with any other currency.

Monthly movements (ChartMogul's definitions). For each sub-account, m(M) = its MRR on the last
day of month M (on the latest day for the current month; 0 before it existed and while its MRR
is unknown). A month's start MRR is the previous month's end. Comparing m(M-1) = a with m(M) = b:
- new:          a = 0, b > 0 and the sub-account never had MRR > 0 before M  (+b)
- reactivation: a = 0, b > 0 and it had MRR > 0 in an earlier month          (+b)
- expansion:    a > 0, b > a                                                 (+(b - a))
- contraction:  a > 0, 0 < b < a                                             (-(a - b))
- churn:        a > 0, b = 0                                                 (-a)
A sub-account whose currency changes churns in the old currency (which starts the month with its
a) and is new or reactivated in the new one, so start + net new = end holds per currency.
The first month with figures is the opening month: GoCSM did not see it start, so its end MRR
is the opening balance and none of it counts as new (no movements, NRR or GRR that month).
Net new MRR = new + reactivation + expansion - contraction - churn = MRR(M) - MRR(M-1).
NRR(M) = (MRR(M-1) + expansion - contraction - churn) / MRR(M-1)
GRR(M) = (MRR(M-1) - contraction - churn) / MRR(M-1)  (both as %, 1 decimal, none when
MRR(M-1) = 0). Logo churn(M) = churned sub-accounts / sub-accounts paying at the end of M-1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, Min, Sum

from analytics.models import LocationDay, LocationDayFact
from gocsm.money import monthly_minor_units

COUNTED_STATUSES = frozenset({"active", "past_due", "unpaid"})


def counted_mrr(status: str | None, mrr_cents: int | None) -> int:
    """MRR that counts on a day: trials, pauses and cancellations count 0. Unknown status with a
    known amount counts the amount (the pull only sends MRR for subscriptions it found)."""
    if not mrr_cents or mrr_cents < 0:
        return 0
    if status is None or status in COUNTED_STATUSES:
        return mrr_cents
    return 0


def monthly_cents(amount_cents: int, interval: str, interval_count: int = 1) -> int:
    """Monthly amount of a recurring price (gocsm.money: exact, rounded half up to the cent).
    One-time prices have no monthly amount: ValueError."""
    return monthly_minor_units(amount_cents, interval, interval_count)


@dataclass
class MonthMovement:
    month: date
    currency: str
    mrr_start: int = 0
    mrr_end: int = 0
    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0
    paying_start: int = 0
    churned_logos: int = 0
    churned: list[str] = field(default_factory=list)
    # The first month GoCSM has figures for: it did not see the month start, so only the end
    # (the opening balance) is known and no movement is counted.
    opening: bool = False

    @property
    def net_new(self) -> int:
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn

    @property
    def nrr(self) -> float | None:
        if self.opening or not self.mrr_start:
            return None
        kept = self.mrr_start + self.expansion - self.contraction - self.churn
        return round(100 * kept / self.mrr_start, 1)

    @property
    def grr(self) -> float | None:
        if self.opening or not self.mrr_start:
            return None
        return round(100 * (self.mrr_start - self.contraction - self.churn) / self.mrr_start, 1)

    @property
    def logo_churn(self) -> float | None:
        if self.opening or not self.paying_start:
            return None
        return round(100 * self.churned_logos / self.paying_start, 1)


def month_end_days(first: date, last: date) -> list[date]:
    """The last day of every month from first's month to last's, and `last` itself (the current
    month's figure is as of the latest day)."""
    out = []
    for month in _months(first, last):
        nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        out.append(min(nxt - timedelta(days=1), last))
    return out


def revenue_start(agency_id: int) -> date | None:
    """The first day GoCSM knows the agency's revenue: its first pull that read GHL's SaaS
    subscriptions (the install), else the first day any MRR is known (manual MRR only). Days
    before it are history the counts backfill reached, not revenue GoCSM saw: revenue figures
    start here."""
    ghl = (
        LocationDayFact.objects.for_agency(agency_id)
        .filter(subscription_status__isnull=False)
        .aggregate(d=Min("day"))["d"]
    )
    if ghl is not None:
        return ghl
    return (
        LocationDay.objects.for_agency(agency_id)
        .filter(mrr_cents__isnull=False)
        .aggregate(d=Min("day"))["d"]
    )


def month_end_mrr(agency_id: int, location_ids=None) -> dict[tuple[str, date], tuple[int, str]]:
    """{(location, month): (MRR, currency)}: each sub-account's MRR on the last day of every month
    it existed in since revenue_start, from its state of that day (analytics.daystate: carried
    forward, manual where GHL has none). Unknown MRR (not billed in GHL) counts 0 here."""
    start = revenue_start(agency_id)
    if start is None:
        return {}
    states = LocationDay.objects.for_agency(agency_id).filter(day__gte=start)
    if location_ids is not None:
        states = states.filter(location_ghl_id__in=location_ids)
    span = states.aggregate(first=Min("day"), last=Max("day"))
    if span["first"] is None:
        return {}
    out = {}
    for loc, day, cents, cur in states.filter(
        day__in=month_end_days(span["first"], span["last"])
    ).values_list("location_ghl_id", "day", "mrr_cents", "currency"):
        out[(loc, day.replace(day=1))] = (cents or 0, (cur or "USD").upper())
    return out


def mrr_by_day(agency_id: int, states, first: date, last: date) -> dict[str, dict[str, int]]:
    """{currency: {iso day: MRR}} summed over the sub-accounts of `states` (the agency's
    LocationDay rows, maybe narrowed) for first..last from revenue_start on: every day carries
    each sub-account's latest known MRR."""
    out: dict[str, dict[str, int]] = {}
    start = revenue_start(agency_id)
    if start is None:
        return out
    for d, cur, cents in (
        states.filter(day__range=(max(first, start), last), mrr_cents__gt=0)
        .values("day", "currency")
        .annotate(cents=Sum("mrr_cents"))
        .values_list("day", "currency", "cents")
    ):
        out.setdefault((cur or "USD").upper(), {})[d.isoformat()] = cents
    return out


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def movements(month_end: dict[tuple[str, date], tuple[int, str]]) -> list[MonthMovement]:
    """Monthly movements per currency, oldest first (see the module docstring)."""
    if not month_end:
        return []
    months = _months(min(m for _l, m in month_end), max(m for _l, m in month_end))
    locations = sorted({loc for loc, _m in month_end})
    result: dict[tuple[date, str], MonthMovement] = {}
    for loc in locations:
        prev, prev_cur, had_mrr = 0, None, False
        for month in months:
            cur_mrr, cur = month_end.get((loc, month), (prev, prev_cur))
            # A zero without a currency (not billed, or before it existed) keeps the last one.
            cur = cur if cur and (cur_mrr or not prev_cur) else prev_cur
            if prev == 0 and cur_mrr == 0:
                continue  # nothing moved and nothing to carry: no row of zeros
            cur = cur or "USD"
            if prev > 0 and prev_cur and prev_cur != cur:
                # A currency switch is churn in the old currency and new MRR in the new one:
                # the old currency's month starts with it and loses it, so each currency's start
                # + net new = end holds on its own.
                old = _entry(result, month, prev_cur)
                old.mrr_start += prev
                old.paying_start += 1
                old.churn += prev
                old.churned_logos += 1
                old.churned.append(loc)
                prev = 0
            mv = _entry(result, month, cur)
            mv.mrr_start += prev
            mv.mrr_end += cur_mrr
            if prev > 0:
                mv.paying_start += 1
            if prev == 0 and cur_mrr > 0:
                if had_mrr:
                    mv.reactivation += cur_mrr
                else:
                    mv.new += cur_mrr
            elif prev > 0 and cur_mrr == 0:
                mv.churn += prev
                mv.churned_logos += 1
                mv.churned.append(loc)
            elif prev > 0 and cur_mrr > prev:
                mv.expansion += cur_mrr - prev
            elif prev > 0 and cur_mrr < prev:
                mv.contraction += prev - cur_mrr
            had_mrr = had_mrr or cur_mrr > 0
            prev, prev_cur = cur_mrr, cur
    for (month, _currency), mv in result.items():
        if month == months[0]:
            # MRR that existed before GoCSM's first month is not new business.
            mv.opening = True
            mv.new = mv.reactivation = 0
    return sorted(result.values(), key=lambda m: (m.month, m.currency))


def _entry(result, month, currency) -> MonthMovement:
    key = (month, currency)
    if key not in result:
        result[key] = MonthMovement(month=month, currency=currency)
    return result[key]


def totals_by_currency(pairs) -> dict[str, int]:
    """Sum (cents, currency) pairs per currency, never across currencies."""
    out: dict[str, int] = defaultdict(int)
    for cents, cur in pairs:
        if cents:
            out[(cur or "USD").upper()] += cents
    return dict(sorted(out.items()))
