"""Adoption matrix, login activity and revenue pages, read from the precomputed state."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Sum
from django.shortcuts import render

from analytics import charts, current_state, portfolio
from analytics.models import (
    ADOPTION_BITS,
    ADOPTION_FEATURES,
    AGENCY_SCOPE,
    FEATURES,
    ActivityRollup,
    Lifecycle,
    LocationDay,
)
from analytics.revenue import MonthMovement, month_end_mrr, movements, mrr_by_day
from analytics.views.common import (
    choice,
    handles_bad_params,
    paginate,
    search_text,
    wants_csv,
)
from analytics.views.csvexport import csv_response
from analytics.views.overview import _plan_notice


def _known_count(scope, filtered: bool = False) -> int | None:
    """Rows of an unfiltered whole-portfolio table, known from the state (no COUNT query)."""
    if filtered or not scope.whole:
        return None
    return min(scope.total, scope.limit) if scope.limit is not None else scope.total


class _Cells:
    """State rows as adoption rows: one cell per feature, None when not known."""

    def __init__(self, qs, known_count: int | None = None):
        self.qs = qs
        self.known_count = known_count

    def count(self) -> int:
        return self.qs.count() if self.known_count is None else self.known_count

    def __len__(self) -> int:  # pragma: no cover
        return self.count()

    def __getitem__(self, index):
        return [_adoption_row(*r) for r in self.qs[index]]


def _adoption_row(ghl_id, name, known, used) -> dict:
    cells = [
        None if not known & ADOPTION_BITS[f] else bool(used & ADOPTION_BITS[f])
        for f in ADOPTION_FEATURES
    ]
    return {
        "ghl_id": ghl_id,
        "url": portfolio.detail_url(ghl_id),
        "name": name or ghl_id,
        "cells": cells,
    }


@handles_bad_params
def adoption(request):
    """Feature x sub-account on the latest day: the adoption features of that day's score."""
    q = search_text(request)
    csv_out = wants_csv(request)
    scope = portfolio.scope_for(request)
    qs = scope.states()
    if q:
        qs = qs.filter(name__icontains=q)
    qs = qs.order_by("sort_name", "location_ghl_id").values_list(
        "location_ghl_id", "name", "adoption_known", "adoption_used"
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
                for r in (_adoption_row(*row) for row in qs)
            ],
        )
    known_n = dict.fromkeys(ADOPTION_FEATURES, 0)
    used_n = dict.fromkeys(ADOPTION_FEATURES, 0)
    if scope.whole:
        # The portfolio's rates come with its state; a search narrows the table, not the rates.
        for f, (used, known) in scope.state.adoption.items():
            used_n[f], known_n[f] = used, known
    else:
        # One row per (known, used) mask pair: a few dozen whatever the portfolio size.
        for known, used, n in (
            scope.states()
            .order_by()
            .values("adoption_known", "adoption_used")
            .annotate(n=Count("id"))
            .values_list("adoption_known", "adoption_used", "n")
        ):
            for f in ADOPTION_FEATURES:
                bit = ADOPTION_BITS[f]
                if known & bit:
                    known_n[f] += n
                    used_n[f] += n if used & bit else 0
    rates = [
        (f, used_n[f], known_n[f], round(100 * used_n[f] / known_n[f], 1) if known_n[f] else None)
        for f in ADOPTION_FEATURES
    ]
    page = paginate(_Cells(qs, known_count=_known_count(scope, filtered=bool(q))), request)
    return render(
        request,
        "analytics/adoption.html",
        {
            "day": scope.day,
            "page": page,
            "rows": page.object_list,
            "features": ADOPTION_FEATURES,
            "rates": rates,
            "q": q,
            **_plan_notice(scope, request),
        },
    )


# Quietest first puts the sub-accounts that stopped paying or were disconnected at the top:
# the row says so, as the overview does, instead of leaving a churned client to read as idle.
_ENDED_LABELS = {
    Lifecycle.CHURNED: Lifecycle.CHURNED.label,
    Lifecycle.NOT_CONNECTED: Lifecycle.NOT_CONNECTED.label,
    Lifecycle.ONBOARDING: Lifecycle.ONBOARDING.label.lower(),
}


class _LoginRows(_Cells):
    def __getitem__(self, index):
        fields = (
            "location_ghl_id",
            "name",
            "active_users",
            "staff_users",
            "sessions",
            "minutes",
            "lifecycle",
        )
        return [
            {
                "ghl_id": loc,
                "url": portfolio.detail_url(loc),
                "name": name or loc,
                "active": active,
                "staff": staff,
                "sessions": sessions,
                "minutes": minutes,
                "lifecycle": lifecycle,
                "lifecycle_text": _ENDED_LABELS.get(lifecycle, ""),
            }
            for loc, name, active, staff, sessions, minutes, lifecycle in self.qs[
                index
            ].values_list(*fields)
        ]


# The quietest first by default: an owner looks for the sub-accounts nobody uses.
LOGIN_SORTS = {
    "sessions": ("sessions", "sort_name", "location_ghl_id"),
    "-sessions": ("-sessions", "sort_name", "location_ghl_id"),
    "active": ("active_users", "sort_name", "location_ghl_id"),
    "-active": ("-active_users", "sort_name", "location_ghl_id"),
    "minutes": ("minutes", "sort_name", "location_ghl_id"),
    "-minutes": ("-minutes", "sort_name", "location_ghl_id"),
    "name": ("sort_name", "location_ghl_id"),
}
LOGIN_SORT_CHOICES = [
    ("sessions", "Fewest sessions"),
    ("active", "Fewest active users"),
    ("minutes", "Least time"),
    ("-sessions", "Most sessions"),
    ("-active", "Most active users"),
    ("-minutes", "Most time"),
    ("name", "Name"),
]


@handles_bad_params
def logins(request):
    """Active users, sessions and minutes per feature over 30 days; tiers of each person."""
    csv_out = wants_csv(request)
    sort = choice(request, "sort", tuple(LOGIN_SORTS), "sessions")
    scope = portfolio.scope_for(request)
    day = scope.day
    window = (day - timedelta(days=29), day)
    qs = scope.states().order_by(*LOGIN_SORTS[sort])
    if csv_out:
        return csv_response(
            "logins.csv",
            ["sub-account", "id", "active_users", "staff_users", "sessions", "minutes"],
            [
                (r["name"], r["ghl_id"], r["active"], r["staff"], r["sessions"], r["minutes"])
                for r in _LoginRows(qs)[:]
            ],
        )
    if scope.whole:
        # JSON keys come back in the database's order: list the tiers in their own.
        tiers = {t: scope.state.tiers.get(t, 0) for t in ("heavy", "regular", "casual", "ghosting")}
    else:
        tier_sums = qs.order_by().aggregate(
            heavy=Sum("tier_heavy"),
            regular=Sum("tier_regular"),
            casual=Sum("tier_casual"),
            ghosting=Sum("tier_ghosting"),
        )
        tiers = {t: n or 0 for t, n in tier_sums.items()}
    if scope.whole:
        series = [tuple(p) for p in scope.state.sessions_daily]
        minutes = {f: scope.state.feature_minutes.get(f, 0) for f in FEATURES}
    else:
        series, minutes = _login_series(scope, window)
    page = paginate(_LoginRows(qs, known_count=_known_count(scope)), request)
    return render(
        request,
        "analytics/logins.html",
        {
            "day": day,
            "page": page,
            "rows": page.object_list,
            "sort": sort,
            "sort_choices": LOGIN_SORT_CHOICES,
            "tiers": list(tiers.items()),
            "chart": charts.bar_chart(series, "Sessions", per="sessions"),
            "series": series,
            # Most time first (features the tracker saw no time in stay, at 0, last).
            "minutes": sorted(minutes.items(), key=lambda fm: -fm[1]),
            **_plan_notice(scope, request),
        },
    )


def _login_series(scope, window) -> tuple[list, dict]:
    """Sessions per day and minutes per feature over the covered sub-accounts' day rollups."""
    day_rollups = scope.covered(
        ActivityRollup.objects.for_agency(scope.agency_id)
        .filter(grain="day", period_start__range=window)
        .exclude(location_ghl_id=AGENCY_SCOPE)
    )
    return current_state.login_series(day_rollups, window[0])


@handles_bad_params
def revenue(request):
    """MRR per day by currency, monthly movements, NRR, GRR, churned MRR and logo churn."""
    days = int(choice(request, "days", ("90", "180", "365"), "180"))
    csv_out = wants_csv(request)
    scope = portfolio.scope_for(request, revenue=True)
    day = scope.day
    first = day - timedelta(days=days - 1)
    if scope.whole or scope.state is None:
        by_currency = scope.state.mrr_daily if scope.whole else {}
        months = [_movement(m) for m in (scope.state.movements if scope.whole else [])]
    else:
        states = scope.covered(LocationDay.objects.for_agency(scope.agency_id))
        by_currency = mrr_by_day(scope.agency_id, states, first, day)
        ranked = scope.states().values_list("location_ghl_id", flat=True)
        months = movements(month_end_mrr(scope.agency_id, ranked))
    # The charts start where GoCSM's revenue figures do when that is inside the window: half a
    # chart of empty days before the install reads as "no revenue then", which nobody knows.
    earliest = min((min(points) for points in by_currency.values() if points), default=None)
    plotted_from = max(first, date.fromisoformat(earliest)) if earliest else first
    mrr_charts = []
    for cur, points in sorted(by_currency.items()):
        # Nothing is plotted before the currency's first MRR (no sub-account paid in it yet);
        # from then on a day without any is a real 0.
        since = min(points)
        series = [
            (iso, None if iso < since else (points.get(iso) or 0) / 100)
            for iso in (
                (plotted_from + timedelta(days=k)).isoformat()
                for k in range((day - plotted_from).days + 1)
            )
        ]
        chart = charts.line_chart(series, cur, lo=0, decimals=2, per=cur)
        mrr_charts.append(
            {"currency": cur, "chart": chart, "latest": points.get(day.isoformat(), 0)}
        )
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
                    # The opening month's start and movements are not known: empty cells.
                    *(
                        ("",) * 7
                        if m.opening
                        else (
                            m.mrr_start / 100,
                            m.new / 100,
                            m.expansion / 100,
                            m.contraction / 100,
                            m.churn / 100,
                            m.reactivation / 100,
                            m.net_new / 100,
                        )
                    ),
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
            "plotted_from": plotted_from if plotted_from > first else None,
            "mrr_charts": mrr_charts,
            "months": list(reversed(months)),
            **_plan_notice(scope, request),
        },
    )


def _movement(stored: dict) -> MonthMovement:
    return MonthMovement(**{**stored, "month": date.fromisoformat(stored["month"])})
