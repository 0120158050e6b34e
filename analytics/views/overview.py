"""Portfolio overview (/app/) and the at-risk list."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import render

from analytics import charts, portfolio, risk, scores
from analytics.revenue import totals_by_currency
from analytics.views.common import (
    choice,
    csv_response,
    handles_bad_params,
    paginate,
    search_text,
    wants_csv,
)

SORTS = {
    "name": lambda r: (r["name"].lower(),),
    "score": lambda r: (r["score"] is None, r["score"] or 0, r["name"].lower()),
    "change": lambda r: (r["change"] is None, r["change"] or 0, r["name"].lower()),
    "mrr": lambda r: (r["mrr_cents"], r["name"].lower()),
    "risk": lambda r: (r["mrr_at_risk"], r["risk_weight"], r["name"].lower()),
}
SORT_CHOICES = [*SORTS, *(f"-{s}" for s in SORTS)]
BAND_FILTERS = ("", *scores.BANDS, "none")
FLAG_FILTERS = ("", *risk.FLAG_WEIGHTS)


def _filtered(rows, band, flag, q):
    if band == "none":
        rows = [r for r in rows if r["score"] is None]
    elif band:
        rows = [r for r in rows if r["band"] == band]
    if flag:
        rows = [r for r in rows if any(c == flag for c, _e in r["flags"])]
    if q:
        ql = q.lower()
        rows = [r for r in rows if ql in r["name"].lower() or ql in r["ghl_id"].lower()]
    return rows


@handles_bad_params
def overview(request):
    sort = choice(request, "sort", SORT_CHOICES, "score")
    band = choice(request, "band", BAND_FILTERS, "")
    flag = choice(request, "flag", FLAG_FILTERS, "")
    q = search_text(request)
    csv_out = wants_csv(request)
    agency, allowed = request.agency, request.allowed_location_ids
    day = portfolio.as_of(agency)
    rows = portfolio.portfolio_rows(agency, allowed, day)
    shown = _filtered(rows, band, flag, q)
    shown.sort(key=SORTS[sort.lstrip("-")], reverse=sort.startswith("-"))
    if csv_out:
        return csv_response(
            "subaccounts.csv",
            ["sub-account", "id", "score", "band", "change_7d", "mrr", "currency", "top_reason"],
            [
                (
                    r["name"],
                    r["ghl_id"],
                    r["score"],
                    r["band"],
                    r["change"],
                    f"{r['mrr_cents'] / 100:.2f}",
                    r["currency"],
                    r["top_reason"],
                )
                for r in shown
            ],
        )
    page = paginate(shown, request)
    ids = [r["ghl_id"] for r in page.object_list]
    spark = portfolio.sparklines(agency, ids, day)
    last_seen = portfolio.last_activity(agency, ids)
    for r in page.object_list:
        r["spark"] = charts.sparkline(spark.get(r["ghl_id"], []))
        r["last_activity"] = last_seen.get(r["ghl_id"])
    band_counts = {b: 0 for b in scores.BANDS}
    for r in rows:
        if r["band"]:
            band_counts[r["band"]] += 1
    now = portfolio.activity_totals(agency, allowed, day - timedelta(days=29), day)
    before = portfolio.activity_totals(
        agency, allowed, day - timedelta(days=59), day - timedelta(days=30)
    )
    trend = portfolio.band_trend(agency, allowed, day)
    context = {
        "day": day,
        "page": page,
        "rows": page.object_list,
        "sort": sort,
        "band": band,
        "flag": flag,
        "q": q,
        "band_counts": [(b, scores.BAND_LABELS[b], band_counts[b]) for b in scores.BANDS],
        "mrr_totals": totals_by_currency((r["mrr_cents"], r["currency"]) for r in rows),
        "risk_totals": totals_by_currency((r["mrr_at_risk"], r["currency"]) for r in rows),
        "activity_now": now,
        "activity_before": before,
        "active_change": now["active_users"] - before["active_users"],
        "sessions_change": now["sessions"] - before["sessions"],
        "trend": trend,
        "trend_chart": charts.stacked_bars(
            [(d.isoformat(), c) for d, c in trend], list(reversed(scores.BANDS))
        ),
        "alerts": portfolio.recent_alerts(agency, allowed, day, limit=10),
        "names": {r["ghl_id"]: r["name"] for r in rows},
        "band_filters": [(b, scores.BAND_LABELS.get(b, "No score")) for b in BAND_FILTERS if b],
        "flag_filters": [(f, risk.FLAG_LABELS[f]) for f in FLAG_FILTERS if f],
        "sort_choices": SORT_CHOICES,
    }
    return render(request, "analytics/overview.html", context)


@handles_bad_params
def at_risk(request):
    flag = choice(request, "flag", FLAG_FILTERS, "")
    csv_out = wants_csv(request)
    agency, allowed = request.agency, request.allowed_location_ids
    day = portfolio.as_of(agency)
    rows = portfolio.at_risk_rows(agency, allowed, day)
    if flag:
        rows = [r for r in rows if any(c == flag for c, _e in r["flags"])]
    if csv_out:
        return csv_response(
            "at-risk.csv",
            [
                "sub-account",
                "id",
                "score",
                "mrr",
                "currency",
                "risk_weight",
                "mrr_at_risk",
                "reasons",
            ],
            [
                (
                    r["name"],
                    r["ghl_id"],
                    r["score"],
                    f"{r['mrr_cents'] / 100:.2f}",
                    r["currency"],
                    r["risk_weight"],
                    f"{r['mrr_at_risk'] / 100:.2f}",
                    "; ".join(e for _c, e in r["flags"]),
                )
                for r in rows
            ],
        )
    page = paginate(rows, request)
    return render(
        request,
        "analytics/at_risk.html",
        {
            "day": day,
            "page": page,
            "rows": page.object_list,
            "flag": flag,
            "flag_filters": [(f, risk.FLAG_LABELS[f]) for f in FLAG_FILTERS if f],
            "flag_weights": [(risk.FLAG_LABELS[c], w) for c, w in risk.FLAG_WEIGHTS.items()],
            "risk_totals": totals_by_currency((r["mrr_at_risk"], r["currency"]) for r in rows),
        },
    )
