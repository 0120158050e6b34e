"""Adoption matrix, login activity and revenue pages."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.shortcuts import render

from analytics import charts, portfolio, scores
from analytics.models import (
    AGENCY_SCOPE,
    FEATURES,
    ActivityRollup,
    FactRollup,
    LocationDayFact,
    UserActivityDay,
)
from analytics.revenue import COUNTED_STATUSES, month_end_mrr, movements
from analytics.views.common import (
    choice,
    csv_response,
    handles_bad_params,
    paginate,
    search_text,
    wants_csv,
)

ADOPTION_FEATURES = (
    "workflows",
    "calendars",
    "products",
    "conversations",
    "payments",
    "reputation",
)


def _scoped(qs, allowed):
    return qs if allowed is None else qs.filter(location_ghl_id__in=allowed)


@handles_bad_params
def adoption(request):
    """Feature x sub-account on the latest day, with the rules of the adoption component."""
    q = search_text(request)
    csv_out = wants_csv(request)
    agency, allowed = request.agency, request.allowed_location_ids
    day = portfolio.as_of(agency)
    names = portfolio.locations_of(agency, allowed)
    window = (day - timedelta(days=29), day)
    levels = {
        r["location_ghl_id"]: r
        for r in _scoped(
            LocationDayFact.objects.for_agency(agency.pk).filter(day=day), allowed
        ).values(
            "location_ghl_id",
            "workflows_published",
            "calendars_active",
            "products_total",
            "conversations_total",
            "subscription_status",
        )
    }
    flows = {
        r["location_ghl_id"]: r
        for r in _scoped(
            FactRollup.objects.for_agency(agency.pk).filter(
                grain="day", period_start__range=window
            ),
            allowed,
        )
        .exclude(location_ghl_id=AGENCY_SCOPE)
        .values("location_ghl_id")
        .annotate(booked=Sum("appointments_booked"), created=Sum("conversations_created"))
    }
    reputation = dict(
        _scoped(
            ActivityRollup.objects.for_agency(agency.pk).filter(
                grain="day", period_start__range=window
            ),
            allowed,
        )
        .exclude(location_ghl_id=AGENCY_SCOPE)
        .values("location_ghl_id")
        .annotate(m=Sum("minutes_reputation"))
        .values_list("location_ghl_id", "m")
    )
    tracked = bool(reputation)
    rows = []
    for loc, name in sorted(names.items(), key=lambda kv: (kv[1] or kv[0]).lower()):
        lv, fl = levels.get(loc, {}), flows.get(loc, {})
        booked, created = fl.get("booked") or 0, fl.get("created")

        def known(v, test):
            return None if v is None else test(v)

        conv = lv.get("conversations_total")
        cells = {
            "workflows": known(lv.get("workflows_published"), lambda v: v > 0),
            "calendars": known(
                lv.get("calendars_active"), lambda v, booked=booked: v > 0 and booked > 0
            ),
            "products": known(lv.get("products_total"), lambda v: v > 0),
            "conversations": (created > 0) if created is not None else known(conv, lambda v: v > 0),
            "payments": known(lv.get("subscription_status"), lambda v: v in scores.PAYING_STATUSES),
            "reputation": ((reputation.get(loc) or 0) > 0) if tracked else None,
        }
        if q and q.lower() not in (name or loc).lower():
            continue
        rows.append(
            {"ghl_id": loc, "name": name or loc, "cells": [cells[f] for f in ADOPTION_FEATURES]}
        )
    rates = []
    for i, f in enumerate(ADOPTION_FEATURES):
        known_rows = [r for r in rows if r["cells"][i] is not None]
        used = sum(1 for r in known_rows if r["cells"][i])
        rates.append(
            (
                f,
                used,
                len(known_rows),
                round(100 * used / len(known_rows), 1) if known_rows else None,
            )
        )
    if csv_out:
        return csv_response(
            "adoption.csv",
            ["sub-account", "id", *ADOPTION_FEATURES],
            [
                (
                    r["name"],
                    r["ghl_id"],
                    *("" if c is None else ("yes" if c else "no") for c in r["cells"]),
                )
                for r in rows
            ],
        )
    page = paginate(rows, request)
    return render(
        request,
        "analytics/adoption.html",
        {
            "day": day,
            "page": page,
            "rows": page.object_list,
            "features": ADOPTION_FEATURES,
            "rates": rates,
            "q": q,
        },
    )


@handles_bad_params
def logins(request):
    """Active users, sessions and minutes per feature over 30 days; tiers of each person."""
    csv_out = wants_csv(request)
    agency, allowed = request.agency, request.allowed_location_ids
    day = portfolio.as_of(agency)
    window = (day - timedelta(days=29), day)
    names = portfolio.locations_of(agency, allowed)
    per_loc = {
        r["location_ghl_id"]: r
        for r in _scoped(
            UserActivityDay.objects.for_agency(agency.pk).filter(day__range=window, sessions__gt=0),
            allowed,
        )
        .values("location_ghl_id")
        .annotate(
            active=Count("user_ghl_id", distinct=True, filter=Q(is_agency_staff=False)),
            staff=Count("user_ghl_id", distinct=True, filter=Q(is_agency_staff=True)),
            sessions=Sum("sessions", filter=Q(is_agency_staff=False)),
            minutes=Sum("minutes_total", filter=Q(is_agency_staff=False)),
        )
    }
    rows = [
        {
            "ghl_id": loc,
            "name": name or loc,
            "active": per_loc.get(loc, {}).get("active", 0),
            "staff": per_loc.get(loc, {}).get("staff", 0),
            "sessions": per_loc.get(loc, {}).get("sessions") or 0,
            "minutes": per_loc.get(loc, {}).get("minutes") or 0,
        }
        for loc, name in sorted(names.items(), key=lambda kv: (kv[1] or kv[0]).lower())
    ]
    sort = choice(request, "sort", ("name", "-active", "-sessions", "-minutes"), "-sessions")
    if sort != "name":
        rows.sort(key=lambda r: -r[sort[1:]])
    if csv_out:
        return csv_response(
            "logins.csv",
            ["sub-account", "id", "active_users", "staff_users", "sessions", "minutes"],
            [
                (r["name"], r["ghl_id"], r["active"], r["staff"], r["sessions"], r["minutes"])
                for r in rows
            ],
        )
    tiers = {"heavy": 0, "regular": 0, "casual": 0, "ghosting": 0}
    for n in (
        _scoped(
            UserActivityDay.objects.for_agency(agency.pk).filter(
                day__range=window, sessions__gt=0, is_agency_staff=False
            ),
            allowed,
        )
        .values("location_ghl_id", "user_ghl_id")
        .annotate(n=Count("day"))
        .values_list("n", flat=True)
    ):
        tiers[scores.tier_for_share(n / 30)] += 1
    daily_qs = ActivityRollup.objects.for_agency(agency.pk).filter(
        grain="day", period_start__range=window
    )
    daily_qs = (
        daily_qs.filter(location_ghl_id=AGENCY_SCOPE)
        if allowed is None
        else daily_qs.filter(location_ghl_id__in=allowed)
    )
    daily = {
        d: (s or 0)
        for d, s in daily_qs.values("period_start")
        .annotate(s=Sum("sessions"))
        .values_list("period_start", "s")
    }
    series = [
        ((window[0] + timedelta(days=k)).isoformat(), daily.get(window[0] + timedelta(days=k), 0))
        for k in range(30)
    ]
    minutes = daily_qs.aggregate(**{f: Sum(f"minutes_{f}") for f in FEATURES})
    page = paginate(rows, request)
    return render(
        request,
        "analytics/logins.html",
        {
            "day": day,
            "page": page,
            "rows": page.object_list,
            "sort": sort,
            "tiers": list(tiers.items()),
            "chart": charts.bars(series),
            "series": series,
            "minutes": [(f, minutes.get(f) or 0) for f in FEATURES],
        },
    )


@handles_bad_params
def revenue(request):
    """MRR per day by currency, monthly movements, NRR, GRR, churned MRR and logo churn."""
    days = int(choice(request, "days", ("90", "180", "365"), "180"))
    csv_out = wants_csv(request)
    agency, allowed = request.agency, request.allowed_location_ids
    day = portfolio.as_of(agency)
    first = day - timedelta(days=days - 1)
    counted = Q(subscription_status__in=COUNTED_STATUSES) | Q(subscription_status__isnull=True)
    daily = list(
        _scoped(
            LocationDayFact.objects.for_agency(agency.pk)
            .filter(day__range=(first, day), mrr_cents__gt=0)
            .filter(counted),
            allowed,
        )
        .values("day", "mrr_currency")
        .annotate(mrr=Sum("mrr_cents"))
        .order_by("day")
        .values_list("day", "mrr_currency", "mrr")
    )
    by_currency: dict[str, dict] = {}
    for d, cur, mrr in daily:
        by_currency.setdefault((cur or "USD").upper(), {})[d] = mrr
    mrr_charts = []
    for cur, points in sorted(by_currency.items()):
        series = [
            (
                (first + timedelta(days=k)).isoformat(),
                (points.get(first + timedelta(days=k)) or 0) / 100,
            )
            for k in range(days)
        ]
        mrr_charts.append(
            {"currency": cur, "chart": charts.line(series, lo=0), "latest": series[-1][1]}
        )
    months = movements(month_end_mrr(agency.pk, list(allowed) if allowed is not None else None))
    months = [m for m in months if m.month >= first.replace(day=1)]
    if csv_out:
        return csv_response(
            "mrr-movements.csv",
            [
                "month",
                "currency",
                "mrr_start",
                "new",
                "expansion",
                "contraction",
                "churn",
                "reactivation",
                "net_new",
                "mrr_end",
                "nrr_pct",
                "grr_pct",
                "logo_churn_pct",
            ],
            [
                (
                    m.month.strftime("%Y-%m"),
                    m.currency,
                    m.mrr_start / 100,
                    m.new / 100,
                    m.expansion / 100,
                    m.contraction / 100,
                    m.churn / 100,
                    m.reactivation / 100,
                    m.net_new / 100,
                    m.mrr_end / 100,
                    m.nrr,
                    m.grr,
                    m.logo_churn,
                )
                for m in months
            ],
        )
    return render(
        request,
        "analytics/revenue.html",
        {
            "day": day,
            "days": days,
            "mrr_charts": mrr_charts,
            "months": list(reversed(months)),
        },
    )
