"""Read side of the dashboards: a fixed number of queries whatever the number of sub-accounts.

Every function takes the agency and the user's allowed sub-account ids (None = all) and never
looks beyond them.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Max, Sum

from accounts.models import Location
from analytics import risk
from analytics.agencyclock import agency_today
from analytics.models import (
    AGENCY_SCOPE,
    ActivityRollup,
    Alert,
    HealthScore,
    LocationDayFact,
    RiskFlag,
    UserActivityDay,
)
from analytics.revenue import counted_mrr


def locations_of(agency, allowed) -> dict[str, str]:
    """{ghl_id: name} of the sub-accounts this user may see."""
    qs = Location.objects.for_agency(agency)
    if allowed is not None:
        qs = qs.filter(ghl_id__in=allowed)
    return dict(qs.values_list("ghl_id", "name"))


def _scoped(qs, allowed):
    return qs if allowed is None else qs.filter(location_ghl_id__in=allowed)


def as_of(agency) -> date:
    """The latest scored day (today in the agency's timezone when nothing is scored yet)."""
    day = HealthScore.objects.for_agency(agency.pk).aggregate(d=Max("day"))["d"]
    return day or agency_today(agency)


def portfolio_rows(agency, allowed, day: date) -> list[dict]:
    """One row per visible sub-account: score, band, 7-day change, MRR, top risk reason."""
    names = locations_of(agency, allowed)
    ids = list(names) if allowed is not None else None
    scores = {
        loc: (score, band)
        for loc, score, band in _scoped(
            HealthScore.objects.for_agency(agency.pk).filter(day=day), ids
        ).values_list("location_ghl_id", "score", "band")
    }
    week_ago = dict(
        _scoped(
            HealthScore.objects.for_agency(agency.pk).filter(day=day - timedelta(days=7)), ids
        ).values_list("location_ghl_id", "score")
    )
    mrr = {
        loc: (counted_mrr(status, cents), cur or "USD")
        for loc, status, cents, cur in _scoped(
            LocationDayFact.objects.for_agency(agency.pk).filter(day=day), ids
        ).values_list("location_ghl_id", "subscription_status", "mrr_cents", "mrr_currency")
    }
    flags: dict[str, list[tuple[float, str, str]]] = {}
    for loc, code, weight, evidence in _scoped(
        RiskFlag.objects.for_agency(agency.pk).filter(day=day), ids
    ).values_list("location_ghl_id", "code", "weight", "evidence"):
        flags.setdefault(loc, []).append((weight, code, evidence))
    rows = []
    for loc, name in names.items():
        score, band = scores.get(loc, (None, ""))
        prev = week_ago.get(loc)
        cents, cur = mrr.get(loc, (0, "USD"))
        loc_flags = sorted(flags.get(loc, []), reverse=True)
        weight = risk.risk_weight(c for _w, c, _e in loc_flags)
        rows.append(
            {
                "ghl_id": loc,
                "name": name or loc,
                "score": score,
                "band": band,
                "change": None if score is None or prev is None else score - prev,
                "mrr_cents": cents,
                "currency": cur,
                "risk_weight": weight,
                "mrr_at_risk": round(cents * weight),
                "flags": [(c, e) for _w, c, e in loc_flags],
                "top_reason": risk.FLAG_LABELS[loc_flags[0][1]] if loc_flags else "",
            }
        )
    return rows


def at_risk_rows(agency, allowed, day: date | None = None) -> list[dict]:
    """Sub-accounts with at least one flag, ranked by MRR at risk, then risk weight."""
    day = day or as_of(agency)
    rows = [r for r in portfolio_rows(agency, allowed, day) if r["flags"]]
    rows.sort(key=lambda r: (-r["mrr_at_risk"], -r["risk_weight"], r["name"].lower()))
    return rows


def sparklines(agency, loc_ids: list[str], day: date, days: int = 30) -> dict[str, list]:
    """{location: [score or None per day]} for the last `days` days (one query)."""
    first = day - timedelta(days=days - 1)
    out = {loc: [None] * days for loc in loc_ids}
    for loc, d, score in (
        HealthScore.objects.for_agency(agency.pk)
        .filter(location_ghl_id__in=loc_ids, day__range=(first, day))
        .values_list("location_ghl_id", "day", "score")
    ):
        out[loc][(d - first).days] = score
    return out


def last_activity(agency, loc_ids: list[str]) -> dict[str, date]:
    return dict(
        UserActivityDay.objects.for_agency(agency.pk)
        .filter(location_ghl_id__in=loc_ids, sessions__gt=0, is_agency_staff=False)
        .values("location_ghl_id")
        .annotate(last=Max("day"))
        .values_list("location_ghl_id", "last")
    )


def band_trend(agency, allowed, day: date, weeks: int = 12) -> list[tuple[date, dict]]:
    """Band counts on the same weekday for the last `weeks` weeks (one query)."""
    days = [day - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    counts: dict[date, dict[str, int]] = {d: {} for d in days}
    qs = _scoped(HealthScore.objects.for_agency(agency.pk).filter(day__in=days), allowed)
    for d, band, n in qs.values("day", "band").annotate(n=Sum(1)).values_list("day", "band", "n"):
        counts[d][band] = n
    return list(counts.items())


def activity_totals(agency, allowed, first: date, last: date) -> dict:
    """Own users' sessions and minutes in [first, last], and distinct active users."""
    if allowed is None:
        qs = ActivityRollup.objects.for_agency(agency.pk).filter(
            grain="day", location_ghl_id=AGENCY_SCOPE, period_start__range=(first, last)
        )
        sums = qs.aggregate(s=Sum("sessions"), m=Sum("minutes_total"))
    else:
        qs = ActivityRollup.objects.for_agency(agency.pk).filter(
            grain="day", location_ghl_id__in=allowed, period_start__range=(first, last)
        )
        sums = qs.aggregate(s=Sum("sessions"), m=Sum("minutes_total"))
    active = (
        _scoped(
            UserActivityDay.objects.for_agency(agency.pk).filter(
                day__range=(first, last), sessions__gt=0, is_agency_staff=False
            ),
            allowed,
        )
        .values("user_ghl_id")
        .distinct()
        .count()
    )
    return {"sessions": sums["s"] or 0, "minutes": sums["m"] or 0, "active_users": active}


def recent_alerts(agency, allowed, day: date, days: int = 7, limit: int = 20) -> list:
    return list(
        _scoped(
            Alert.objects.for_agency(agency.pk).filter(
                day__range=(day - timedelta(days=days - 1), day)
            ),
            allowed,
        ).order_by("-day", "location_ghl_id", "kind", "code")[:limit]
    )
