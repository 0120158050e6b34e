"""Portfolio overview (/app/) and the at-risk list, read from the precomputed current state."""

from __future__ import annotations

from django.db.models import F, Q, Sum
from django.shortcuts import redirect, render

from accounts.visibility import sole_location
from analytics import charts, churn, churnmodel, portfolio, risk, scores
from analytics.models import Lifecycle, MRRSource
from analytics.templatetags.analytics_format import cents
from analytics.views.common import (
    ScopeBar,
    alerts_for_viewer,
    choice,
    flags_for_viewer,
    handles_bad_params,
    paginate,
    search_text,
    wants_csv,
)
from analytics.views.csvexport import csv_response


def _nulls_last(field: str, desc: bool):
    return F(field).desc(nulls_first=True) if desc else F(field).asc(nulls_last=True)


def _order(key: str, desc: bool) -> list:
    """SQL ordering equal to sorting rows by SORT_KEYS[key] (reversed when desc): missing
    scores and changes sort after every number, the name breaks ties."""
    name = F("sort_name").desc() if desc else F("sort_name").asc()
    tail = [name, F("location_ghl_id").desc() if desc else F("location_ghl_id").asc()]
    if key == "name":
        return tail
    if key in ("score", "change"):
        return [_nulls_last(key, desc), *tail]
    if key == "mrr":
        return [F("mrr_cents").desc() if desc else F("mrr_cents").asc(), *tail]
    fields = ("mrr_at_risk", "risk_weight")
    return [*(F(f).desc() if desc else F(f).asc() for f in fields), *tail]


SORTS = ("name", "score", "change", "mrr", "risk")
SORT_CHOICES = [*SORTS, *(f"-{s}" for s in SORTS)]
LIFECYCLE_LABELS = dict(Lifecycle.choices)
BAND_FILTERS = ("", *scores.BANDS, "none")
FLAG_FILTERS = ("", *risk.FLAG_WEIGHTS)
BAND_CHOICES = [(b, scores.BAND_LABELS.get(b, "No score")) for b in BAND_FILTERS if b]
FLAG_CHOICES = [(f, risk.FLAG_LABELS[f]) for f in FLAG_FILTERS if f]


def _filtered(qs, band, flag, q):
    if band == "none":
        qs = qs.filter(score__isnull=True)
    elif band:
        qs = qs.filter(band=band)
    if flag:
        qs = qs.filter(flag_codes__contains=f",{flag},")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(location_ghl_id__icontains=q))
    return qs


class _Rows:
    """A LocationState queryset that the paginator slices in SQL and hands out as row dicts."""

    def __init__(self, qs, with_flags: bool = False, known_count: int | None = None, request=None):
        self.qs = qs
        self.with_flags = with_flags
        self.known_count = known_count
        self.request = request  # whose eyes the flags' evidence is for (flags_for_viewer)

    def count(self) -> int:
        return self.qs.count() if self.known_count is None else self.known_count

    def __len__(self) -> int:  # pragma: no cover - Paginator prefers count()
        return self.count()

    def __getitem__(self, index):
        rows = portfolio.state_rows(self.qs[index], self.with_flags)
        if self.with_flags and self.request is not None:
            for r in rows:
                r["flags"] = flags_for_viewer(self.request, r["flags"])
        return rows


# GHL subscription statuses whose MRR counts 0 (analytics.revenue), as a row names them.
UNCOUNTED_STATUS_LABELS = {
    "trialing": "trial",
    "paused": "paused",
    "canceled": "cancelled",
    "incomplete": "incomplete",
    "incomplete_expired": "expired",
}


def with_display_text(rows: list[dict]) -> list[dict]:
    """Each row with the text its table cells print, made once here: a template filter per
    cell costs more than the rest of the row."""
    for r in rows:
        r["change_text"] = "" if r["change"] is None else f"{r['change']:+d}"
        r["lifecycle_text"] = LIFECYCLE_LABELS.get(r["lifecycle"], "")
        # MRR cells say where the figure comes from: a zero is never shown for "unknown".
        r["mrr_text"] = (
            "" if r["mrr_source"] == MRRSource.NONE else f"{cents(r['mrr_cents'])} {r['currency']}"
        )
        # A GHL subscription that counts 0 says why (a trial is not a free client).
        r["mrr_note"] = (
            UNCOUNTED_STATUS_LABELS.get(r.get("subscription_status", ""), "")
            if r["mrr_source"] == MRRSource.GHL and not r["mrr_cents"]
            else ""
        )
        r["last_text"] = r["last_activity"].isoformat() if r["last_activity"] else "—"
        p = r.get("churn_probability")
        r["churn_text"] = "" if p is None else f"{p * 100:.0f} %"
        lost = r.get("expected_mrr_lost")
        r["lost_text"] = "" if lost is None else f"{cents(lost)} {r['currency']}"
        if "mrr_at_risk" in r:
            r["at_risk_text"] = f"{cents(r['mrr_at_risk'])} {r['currency']}"
            r["weight_text"] = f"{r['risk_weight']:.2f}"
    return rows


def _csv_money(row: dict, key: str) -> str:
    """Money as a CSV cell: empty where the MRR is unknown (not billed in GHL), never 0.00."""
    return "" if row["mrr_source"] == MRRSource.NONE else f"{row[key] / 100:.2f}"


def _plan_notice(scope, request) -> dict:
    """What every portfolio page's template shows about its scope: the plan's limit, and what
    the page is narrowed to with the filter bar's and bulk form's choices."""
    return {
        "not_analysed": scope.not_analysed,
        "plan_limit": scope.limit,
        "total_locations": scope.total,
        "narrowing": scope.narrowing,
        "scope_bar": ScopeBar(scope.narrowing, request),
    }


@handles_bad_params
def overview(request):
    if (sole := sole_location(request)) is not None:
        # A sub-account's own person: their portfolio is one sub-account, its page their overview.
        return redirect("analytics:location-detail", ghl_id=sole)
    sort = choice(request, "sort", SORT_CHOICES, "score")
    band = choice(request, "band", BAND_FILTERS, "")
    flag = choice(request, "flag", FLAG_FILTERS, "")
    q = search_text(request)
    csv_out = wants_csv(request)
    scope = portfolio.scope_for(request)
    day = scope.day
    if scope.state is None:
        shown = portfolio.unscored_rows(scope, q)
        if band not in ("", "none") or flag:
            shown = []
    else:
        qs = _filtered(scope.states(), band, flag, q).order_by(
            *_order(sort.lstrip("-"), sort.startswith("-"))
        )
        # Unfiltered, the number of rows is known from the state: no COUNT query.
        known = None
        if scope.whole and not (band or flag or q):
            known = min(scope.total, scope.limit) if scope.limit is not None else scope.total
        shown = _Rows(qs, known_count=known)
    if csv_out:
        rows = shown if isinstance(shown, list) else shown[:]
        return csv_response(
            "subaccounts.csv",
            [
                "sub-account",
                "id",
                "lifecycle",
                "score",
                "band",
                "change_7d",
                "mrr",
                "currency",
                "mrr_source",
                "top_reason",
            ],
            [
                (
                    r["name"],
                    r["ghl_id"],
                    r["lifecycle"],
                    r["score"],
                    r["band"],
                    r["change"],
                    _csv_money(r, "mrr_cents"),
                    r["currency"],
                    r["mrr_source"],
                    r["top_reason"],
                )
                for r in rows
            ],
        )
    page = paginate(shown, request)
    sums = portfolio.totals(scope)
    now, before = portfolio.activity_tiles(scope)
    trend = portfolio.band_trend(scope)
    while trend and not any(trend[0][1].values()):
        trend = trend[1:]  # weeks before the first score would draw as gaps
    alerts = alerts_for_viewer(request, portfolio.recent_alerts(scope, limit=10))
    context = {
        "churn": churn_status(churn.summary_for_request(request), request),
        "day": day,
        "page": page,
        "rows": with_display_text(page.object_list),
        "sort": sort,
        "band": band,
        "flag": flag,
        "q": q,
        "band_counts": [(b, scores.BAND_LABELS[b], sums.bands.get(b, 0)) for b in scores.BANDS],
        "lifecycle_counts": [
            (key, LIFECYCLE_LABELS[key], sums.lifecycles[key])
            for key in (Lifecycle.ONBOARDING, Lifecycle.NOT_CONNECTED, Lifecycle.CHURNED)
            if sums.lifecycles.get(key)
        ],
        "importing": sums.lifecycles.get("", 0),
        "not_billed": sums.billing.get(MRRSource.NONE, 0),
        "manual_billed": sums.billing.get(MRRSource.MANUAL, 0),
        "at_risk_count": portfolio.at_risk_count(scope),
        "mrr_totals": sums.mrr,
        "risk_totals": sums.at_risk,
        "activity_now": now,
        "activity_before": before,
        "active_change": now["active_users"] - before["active_users"],
        "sessions_change": now["sessions"] - before["sessions"],
        "trend": [(d.isoformat(), *(c.get(b, 0) for b in scores.BANDS)) for d, c in trend],
        "trend_chart": charts.stacked_chart(
            [(d.isoformat(), c) for d, c in trend],
            [(b, scores.BAND_LABELS[b]) for b in reversed(scores.BANDS)],
            "Sub-accounts",
        ),
        "alerts": alerts,
        "band_choices": BAND_CHOICES,
        "flag_choices": FLAG_CHOICES,
        "sort_choices": SORT_CHOICES,
        **_plan_notice(scope, request),
    }
    return render(request, "analytics/overview.html", context)


def churn_status(model, request) -> dict:
    """What the pages say about the agency's churn model (a ChurnModel or the cached
    churn.Summary of it; None: never trained): in use, or why not (cold start).
    `shown`: the agency's own people only; its clients' staff never see the agency's churn
    model about them."""
    shown = request.ghl_user.role != request.ghl_user.ROLE_LOCATION
    return {
        "shown": shown,
        # Not shown is not in use: pages and rankings fall back to the rules for them.
        "in_use": shown and churn.in_use(model),
        "trained": model is not None,
        "events": model.events if model else 0,
        "needed": model.events_needed if model else churnmodel.MIN_EVENTS,
        "warm_up": churnmodel.WARM_UP,
        "window": churnmodel.WINDOW,
        "day": model.day if model else None,
        "threshold": churnmodel.at_risk_threshold(churnmodel.HORIZON),
        "threshold_pct": round(churnmodel.at_risk_threshold(churnmodel.HORIZON) * 100),
    }


@handles_bad_params
def at_risk(request):
    flag = choice(request, "flag", FLAG_FILTERS, "")
    csv_out = wants_csv(request)
    scope = portfolio.scope_for(request)
    day = scope.day
    status = churn_status(churn.summary_for_request(request), request)
    if status["in_use"]:
        # With a model: also the sub-accounts it calls at risk, ranked by expected MRR lost.
        qs = scope.states().filter(
            ~Q(flag_codes="") | Q(churn_probability__gte=status["threshold"])
        )
    else:
        qs = scope.states().exclude(flag_codes="")
    if flag:
        qs = qs.filter(flag_codes__contains=f",{flag},")
    if status["in_use"]:
        qs = qs.order_by(
            F("expected_mrr_lost").desc(nulls_last=True),
            F("churn_probability").desc(nulls_last=True),
            "-mrr_at_risk",
            "sort_name",
            "location_ghl_id",
        )
    else:
        qs = qs.order_by("-mrr_at_risk", "-risk_weight", "sort_name", "location_ghl_id")
    if csv_out:
        rows = _Rows(qs, with_flags=True, request=request)[:]
        return csv_response(
            "at-risk.csv",
            [
                "sub-account",
                "id",
                "score",
                "mrr",
                "currency",
                "mrr_source",
                "risk_weight",
                "mrr_at_risk",
                "churn_probability_90d",
                "expected_mrr_lost",
                "reasons",
            ],
            [
                (
                    r["name"],
                    r["ghl_id"],
                    r["score"],
                    _csv_money(r, "mrr_cents"),
                    r["currency"],
                    r["mrr_source"],
                    r["risk_weight"],
                    _csv_money(r, "mrr_at_risk"),
                    "" if r["churn_probability"] is None else f"{r['churn_probability']:.4f}",
                    "" if r["expected_mrr_lost"] is None else f"{r['expected_mrr_lost'] / 100:.2f}",
                    "; ".join(e for _c, e in r["flags"]),
                )
                for r in rows
            ],
        )
    known = scope.state.flagged if scope.whole and not flag and not status["in_use"] else None
    page = paginate(_Rows(qs, with_flags=True, known_count=known, request=request), request)
    lost_totals = {}
    if status["in_use"]:
        lost_totals = {
            cur: total
            for cur, total in scope.states()
            .order_by("currency")
            .values("currency")
            .annotate(c=Sum("expected_mrr_lost"))
            .values_list("currency", "c")
            if total
        }
    risk_totals = (
        scope.state.risk_totals
        if scope.whole and not flag and not status["in_use"]
        else {
            cur: cents
            for cur, cents in qs.order_by("currency")
            .values("currency")
            .annotate(c=Sum("mrr_at_risk"))
            .values_list("currency", "c")
            if cents
        }
    )
    return render(
        request,
        "analytics/at_risk.html",
        {
            "day": day,
            "page": page,
            "rows": with_display_text(page.object_list),
            "flag": flag,
            "flag_choices": FLAG_CHOICES,
            "flag_weights": [(risk.FLAG_LABELS[c], w) for c, w in risk.FLAG_WEIGHTS.items()],
            "risk_totals": risk_totals,
            "lost_totals": lost_totals,
            "churn": status,
            **_plan_notice(scope, request),
        },
    )
