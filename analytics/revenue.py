"""MRR and its monthly movements.

MRR of a sub-account on a day = its SaaS subscription's plan price per month (yearly prices / 12,
one-time fees never), counted only while the subscription is active, past_due or unpaid (a
failing payment is still revenue until the subscription is cancelled, as ChartMogul counts it);
trialing, paused, canceled and none count 0. Amounts are kept per currency: USD is never summed
with any other currency.

Monthly movements (ChartMogul's definitions). For each sub-account, m(M) = its counted MRR on the
last day of month M that has a fact row (carried forward from the latest earlier month when M
has none; 0 before its first fact). Comparing m(M-1) = a with m(M) = b:
- new:          a = 0, b > 0 and the sub-account never had MRR > 0 before M  (+b)
- reactivation: a = 0, b > 0 and it had MRR > 0 in an earlier month          (+b)
- expansion:    a > 0, b > a                                                 (+(b - a))
- contraction:  a > 0, 0 < b < a                                             (-(a - b))
- churn:        a > 0, b = 0                                                 (-a)
Net new MRR = new + reactivation + expansion - contraction - churn = MRR(M) - MRR(M-1).
NRR(M) = (MRR(M-1) + expansion - contraction - churn) / MRR(M-1)
GRR(M) = (MRR(M-1) - contraction - churn) / MRR(M-1)  (both as %, 1 decimal, none when
MRR(M-1) = 0). Logo churn(M) = churned sub-accounts / sub-accounts paying at the end of M-1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max

from analytics.models import LocationDayFact

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
    """Monthly amount of a recurring price: year -> /12, week -> *52/12, day -> *365/12 (rounded
    half up to the cent). One-time prices have no monthly amount: ValueError."""
    per_month = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}
    if interval not in per_month or interval_count < 1:
        raise ValueError("interval must be day, week, month or year with a positive count")
    return int(amount_cents * per_month[interval] / interval_count + 0.5)


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

    @property
    def net_new(self) -> int:
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn

    @property
    def nrr(self) -> float | None:
        if not self.mrr_start:
            return None
        kept = self.mrr_start + self.expansion - self.contraction - self.churn
        return round(100 * kept / self.mrr_start, 1)

    @property
    def grr(self) -> float | None:
        if not self.mrr_start:
            return None
        return round(100 * (self.mrr_start - self.contraction - self.churn) / self.mrr_start, 1)

    @property
    def logo_churn(self) -> float | None:
        if not self.paying_start:
            return None
        return round(100 * self.churned_logos / self.paying_start, 1)


def month_end_mrr(agency_id: int, location_ids=None) -> dict[tuple[str, date], tuple[int, str]]:
    """{(location, month): (counted MRR, currency)} from each month's last fact row. Two queries."""
    from django.db.models.functions import TruncMonth

    base = LocationDayFact.objects.for_agency(agency_id)
    if location_ids is not None:
        base = base.filter(location_ghl_id__in=location_ids)
    last_days = (
        base.annotate(month=TruncMonth("day"))
        .values("location_ghl_id", "month")
        .annotate(last=Max("day"))
        .values_list("last", flat=True)
    )
    rows = base.filter(day__in=list(set(last_days))).values_list(
        "location_ghl_id", "day", "subscription_status", "mrr_cents", "mrr_currency"
    )
    out = {}
    # A day can be another location's month end: keep only each location's own month ends.
    by_loc_month: dict[tuple[str, date], tuple] = {}
    for loc, day, status, mrr, cur in rows:
        key = (loc, day.replace(day=1))
        if key not in by_loc_month or by_loc_month[key][0] < day:
            by_loc_month[key] = (day, status, mrr, cur)
    for key, (_day, status, mrr, cur) in by_loc_month.items():
        out[key] = (counted_mrr(status, mrr), (cur or "USD").upper())
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
            cur_mrr, cur = month_end.get((loc, month), (prev, prev_cur or "USD"))
            cur = cur or "USD"
            if prev > 0 and prev_cur and prev_cur != cur:
                # A currency switch is churn in the old currency and new MRR in the new one.
                _entry(result, month, prev_cur).churn += prev
                _entry(result, month, prev_cur).churned_logos += 1
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
