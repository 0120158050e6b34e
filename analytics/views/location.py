"""One sub-account: score history with its components, activity, users, counts and revenue."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.db.models import Count, Max, Q, Sum
from django.shortcuts import render

from accounts.models import GHLUser
from accounts.tenancy import get_location_for_request
from analytics import charts, portfolio, risk, scores
from analytics.models import (
    FEATURES,
    ActivityRollup,
    FactRollup,
    HealthScore,
    LocationDayFact,
    RiskFlag,
    UserActivityDay,
    WeightChange,
)
from analytics.revenue import counted_mrr
from analytics.views import tablerows
from analytics.views.common import choice, csv_response, handles_bad_params, wants_csv
from analytics.views.overview import _plan_notice

HISTORY_DAYS = (30, 90, 180, 365)


@handles_bad_params
def location_detail(request, ghl_id: str):
    location = get_location_for_request(request, ghl_id)
    days = int(choice(request, "days", [str(d) for d in HISTORY_DAYS], "90"))
    csv_out = wants_csv(request)
    agency = request.agency
    scope = portfolio.scope_for(request)
    # Outside the plan's analysed sub-accounts the page keeps the facts (activity, users,
    # counts, subscription) and hides the analysis (score, components, flags) behind a notice.
    analysed = scope.analysed(location.ghl_id)
    day = scope.day
    first = day - timedelta(days=days - 1)
    history = [
        SimpleNamespace(**v)
        for v in HealthScore.objects.for_agency(agency.pk)
        .filter(location_ghl_id=location.ghl_id, day__range=(first, day))
        .order_by("day")
        .values("day", "score", "band", "components", "contributions")
    ]
    if not analysed:
        history = []
    if csv_out:
        return csv_response(
            f"score-history-{location.ghl_id}.csv",
            ["day", "score", "band", *scores.COMPONENTS],
            [
                (h.day, h.score, h.band, *(h.components.get(c) for c in scores.COMPONENTS))
                for h in history
            ],
        )
    markers = list(
        WeightChange.objects.for_agency(agency.pk).filter(day__range=(first, day)).order_by("day")
    )
    latest = history[-1] if history else None
    week_ago = next((h for h in history if h.day == day - timedelta(days=7)), None)
    explanation = []
    if latest and week_ago:
        for c in scores.COMPONENTS:
            delta = latest.contributions.get(c, 0) - week_ago.contributions.get(c, 0)
            if round(delta) != 0:
                explanation.append((scores.COMPONENT_LABELS[c], round(delta)))
        explanation.sort(key=lambda e: e[1])
    chart = charts.line([(h.day.isoformat(), h.score) for h in history], lo=0, hi=100)
    index = {h.day: i for i, h in enumerate(history)}
    step = (chart["width"] - 12) / max(len(history) - 1, 1)
    marker_x = [{"x": round(6 + index[m.day] * step, 1), "m": m} for m in markers if m.day in index]
    chart["markers"] = [
        {"x": m["x"], "title": f"{m['m'].day}: weights changed by {m['m'].changed_by}"}
        for m in marker_x
    ]
    flags = list(
        RiskFlag.objects.for_agency(agency.pk)
        .filter(location_ghl_id=location.ghl_id, day=day)
        .order_by("-weight")
    )
    activity = (
        ActivityRollup.objects.for_agency(agency.pk)
        .filter(
            location_ghl_id=location.ghl_id,
            grain="day",
            period_start__range=(day - timedelta(29), day),
        )
        .aggregate(**{f: Sum(f"minutes_{f}") for f in FEATURES}, sessions=Sum("sessions"))
    )
    # One pass over the sub-account's activity: each person's last day and days in 30.
    users_activity = list(
        UserActivityDay.objects.for_agency(agency.pk)
        .filter(location_ghl_id=location.ghl_id, sessions__gt=0)
        .values("user_ghl_id", "is_agency_staff")
        .annotate(
            last=Max("day"),
            n30=Count("day", filter=Q(day__range=(day - timedelta(days=29), day))),
        )
    )
    recent_days: dict[str, int] = {}
    for u in users_activity:
        recent_days[u["user_ghl_id"]] = recent_days.get(u["user_ghl_id"], 0) + u["n30"]
    people = dict(
        GHLUser.objects.for_agency(agency)
        .filter(ghl_id__in=[u["user_ghl_id"] for u in users_activity])
        .values_list("ghl_id", "name")
    )
    users = [
        {
            "name": people.get(u["user_ghl_id"], u["user_ghl_id"]),
            "staff": u["is_agency_staff"],
            "last": u["last"],
            "days30": recent_days.get(u["user_ghl_id"], 0),
            "tier": scores.tier_for_share(recent_days.get(u["user_ghl_id"], 0) / 30).title(),
        }
        for u in users_activity
    ]
    users.sort(key=lambda u: (u["staff"], -(u["days30"]), u["name"]))
    counts = list(
        FactRollup.objects.for_agency(agency.pk)
        .filter(location_ghl_id=location.ghl_id, grain="week", period_start__range=(first, day))
        .order_by("period_start")
        .values("period_start", *tablerows.COUNT_COLUMNS)
    )
    subs = []
    for f in (
        LocationDayFact.objects.for_agency(agency.pk)
        .filter(location_ghl_id=location.ghl_id, day__range=(first, day))
        .order_by("day")
        .values("day", "saas_plan_id", "subscription_status", "mrr_cents", "mrr_currency")
    ):
        key = (f["saas_plan_id"], f["subscription_status"], f["mrr_cents"], f["mrr_currency"])
        if not subs or subs[-1]["key"] != key:
            subs.append(
                {
                    "key": key,
                    "day": f["day"],
                    "plan": f["saas_plan_id"],
                    "status": f["subscription_status"],
                    "mrr": counted_mrr(f["subscription_status"], f["mrr_cents"]),
                    "currency": f["mrr_currency"] or "USD",
                }
            )
    return render(
        request,
        "analytics/location.html",
        {
            "location": location,
            "analysed": analysed,
            **_plan_notice(scope),
            "day": day,
            "days": days,
            "history_days": HISTORY_DAYS,
            "history": list(reversed(history[-30:])),
            "history_html": tablerows.score_history(reversed(history[-30:])),
            "counts_html": tablerows.weekly_counts(counts),
            "latest": latest,
            "week_ago": week_ago,
            "explanation": explanation,
            "chart": chart,
            "chart_svg": charts.line_svg(chart, "Score history"),
            "markers": marker_x,
            "flags": [(risk.FLAG_LABELS.get(f.code, f.code), f.evidence) for f in flags],
            "components": [
                (
                    scores.COMPONENT_LABELS[c],
                    latest.components.get(c) if latest else None,
                    latest.contributions.get(c) if latest else None,
                )
                for c in scores.COMPONENTS
            ],
            "activity": [(f, activity.get(f) or 0) for f in FEATURES],
            "sessions30": activity.get("sessions") or 0,
            "users": users,
            "counts": counts,
            "subs": list(reversed(subs)),
        },
    )
