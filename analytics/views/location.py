"""One sub-account: score history with its components, activity, users, counts and revenue."""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

from django.shortcuts import render
from django.template.defaultfilters import floatformat

from accounts import lookups
from accounts.tenantsql import Select, read_together
from accounts.visibility import location_for_request
from analytics import charts, churn, nps, portfolio, risk, scores
from analytics.models import (
    FEATURES,
    ChurnPrediction,
    FactRollup,
    HealthScore,
    LocationDay,
    LocationState,
    NpsOptIn,
    NpsResponse,
    nps_category,
)
from analytics.views.common import (
    choice,
    flags_for_viewer,
    handles_bad_params,
    is_client,
    wants_csv,
)
from analytics.views.csvexport import csv_response, file_name
from analytics.views.overview import _plan_notice, churn_status
from analytics.views.segments import LocationLabels

HISTORY_DAYS = (30, 90, 180, 365)
# The weekly counts table's columns, in its order.
COUNT_COLUMNS = (
    "users_total",
    "workflows_total",
    "workflows_published",
    "calendars_total",
    "products_total",
    "appointments_booked",
    "conversations_created",
)

# The page's reads, each built once (accounts.tenantsql): one sub-account of one agency.
_STATE_COLUMNS = (
    "analysis_rank",
    "flags",
    "feature_minutes",
    "sessions",
    "users",
    "lifecycle",
    "first_day",
)
_STATE = Select(LocationState, _STATE_COLUMNS, where=(("location_ghl_id", "="),))
_SCORES = Select(
    HealthScore,
    ("day", "score", "band", "components", "contributions"),
    where=(("location_ghl_id", "="), ("day", "between")),
    order_by=("day",),
    json_as_text=True,
)
_WEEKS = Select(
    FactRollup,
    ("period_start", *COUNT_COLUMNS),
    where=(("location_ghl_id", "="), ("grain", "="), ("period_start", "between")),
    order_by=("period_start",),
)
# The state of each day (analytics.daystate): plan, status and MRR carried forward, so the
# table lists real changes, not the days a pull happened to miss.
_SUBSCRIPTION = Select(
    LocationDay,
    ("day", "plan_id", "subscription_status", "mrr_cents", "currency", "mrr_source", "lifecycle"),
    where=(("location_ghl_id", "="), ("day", "between")),
    order_by=("day",),
)
# Its churn prediction with the drivers (analytics.churn), and its NPS prompt: switched on, and
# the last 180 days of answers, newest first (analytics.nps).
_PREDICTION = Select(
    ChurnPrediction,
    ("day", "probability", "logit", "intercept", "drivers"),
    where=(("location_ghl_id", "="),),
    limit=1,
)
_NPS_ON = Select(NpsOptIn, ("location_ghl_id",), where=(("location_ghl_id", "="),), limit=1)
_NPS = Select(
    NpsResponse,
    ("user_name", "user_ghl_id", "comment", "outcome", "rating", "day"),
    where=(("location_ghl_id", "="), ("day", ">=")),
    order_by=("-at", "-id"),
    limit=500,
)


def _one_decimal(value) -> str | None:
    """12.345 -> '12.3' as floatformat:1 writes it (None stays None: no data)."""
    return None if value is None else floatformat(value, 1)


def _decoded(text) -> dict:
    return json.loads(text) if isinstance(text, str) else (text or {})


# Sections other apps add to the sub-account page (playbooks' tasks), from AppConfig.ready():
# callables (request, location) -> {"template": name, **context} or None.
PANELS: list = []


def register_panel(panel) -> None:
    if panel not in PANELS:
        PANELS.append(panel)


def _prediction(rows: list[tuple]) -> dict | None:
    """The sub-account's churn probability with its top drivers (rows: _PREDICTION's): each
    driver's contribution to the logit (positive raises the probability); with the intercept
    they add up to the logit."""
    if not rows:
        return None
    p = SimpleNamespace(**dict(zip(_PREDICTION.columns, rows[0], strict=True)))
    return {
        "probability": f"{p.probability * 100:.0f} %",
        "day": p.day,
        "drivers": [
            {"label": label, "value": f"{v:+.2f}", "raises": v > 0}
            for label, v in churn.top_drivers(p)
        ],
        "all": [(label, f"{v:+.3f}") for label, v in sorted(p.drivers.items())],
        "intercept": f"{p.intercept:+.3f}",
        "logit": f"{p.logit:+.3f}",
    }


@handles_bad_params
def location_detail(request, ghl_id: str):
    location = location_for_request(request, ghl_id)
    days = int(choice(request, "days", [str(d) for d in HISTORY_DAYS], "90"))
    csv_out = wants_csv(request)
    agency = request.agency
    scope = portfolio.scope_for(request, narrow=False)
    day = scope.day
    first = day - timedelta(days=days - 1)
    # One round trip for the rest of the page's reads. The sub-account's precomputed state
    # (analytics.current_state) carries what the page would otherwise ask of five tables: its
    # rank under the plan, today's flags, 30 days of minutes per feature and the people active
    # there with their tiers.
    (
        state_rows,
        score_rows,
        week_rows,
        subscription_rows,
        prediction_rows,
        nps_on_rows,
        nps_rows,
    ) = read_together(
        agency.pk,
        (_STATE, (location.ghl_id,)),
        (_SCORES, (location.ghl_id, first, day)),
        (_WEEKS, (location.ghl_id, "week", first, day)),
        (_SUBSCRIPTION, (location.ghl_id, first, day)),
        (_PREDICTION, (location.ghl_id,)),
        (_NPS_ON, (location.ghl_id,)),
        (_NPS, (location.ghl_id, day - timedelta(days=179))),
    )
    state = dict(zip(_STATE_COLUMNS, state_rows[0], strict=True)) if state_rows else None
    # Outside the plan's analysed sub-accounts the page keeps the facts (activity, users,
    # counts, subscription) and hides the analysis (score, components, flags) behind a notice.
    analysed = scope.limit is None or (state is not None and state["analysis_rank"] <= scope.limit)
    # Every day's score draws the chart; components and contributions are shown for the last
    # 30 days only (the CSV has them all), so only those rows' JSON is decoded.
    since = first if csv_out else day - timedelta(days=29)
    if score_rows:
        # A sub-account no longer scored (not connected, churned) shows its last scored day's.
        since = min(since, score_rows[-1][0])
    history = [
        SimpleNamespace(
            day=d,
            score=score,
            band=band,
            components=_decoded(comp) if d >= since else {},
            contributions=_decoded(contrib) if d >= since else {},
        )
        for d, score, band, comp, contrib in score_rows
    ]
    if not analysed:
        history = []  # read all the same: the page costs as many queries either way
    if csv_out:
        return csv_response(
            file_name("score-history", location.name),
            ["day", "score", "band", *scores.COMPONENTS],
            [
                (h.day, h.score, h.band, *(h.components.get(c) for c in scores.COMPONENTS))
                for h in history
            ],
        )
    # Weight and band changes come with the agency's state (the same recompute as the scores).
    changes = scope.state.weight_changes if scope.state else []
    markers = [
        SimpleNamespace(day=d, changed_by=by)
        for d, by in ((date.fromisoformat(iso), by) for iso, by in changes)
        if first <= d <= day
    ]
    latest = history[-1] if history else None
    week_ago = next((h for h in history if h.day == day - timedelta(days=7)), None)
    explanation = []
    if latest and week_ago:
        for c in scores.COMPONENTS:
            delta = latest.contributions.get(c, 0) - week_ago.contributions.get(c, 0)
            if round(delta) != 0:
                explanation.append((scores.COMPONENT_LABELS[c], round(delta)))
        explanation.sort(key=lambda e: e[1])
    chart = charts.line_chart([(h.day.isoformat(), h.score) for h in history], "Score", 0, 100)
    scored = {h.day for h in history}
    markers = [m for m in markers if m.day in scored]
    for m in markers:
        charts.add_marker(chart, m.day.isoformat(), f"{m.day}: weights changed by {m.changed_by}")
    flags = state["flags"] if state and analysed else []
    feature_minutes = state["feature_minutes"] if state else {}
    users = [
        {
            **u,
            "last": date.fromisoformat(u["last"]) if u["last"] else None,
            "tier": u["tier"].title(),
        }
        for u in (state["users"] if state else [])
    ]
    counts = [
        {"week": r[0].isoformat(), "cells": ["—" if v is None else v for v in r[1:]]}
        for r in week_rows
    ]
    plan_names = dict(lookups.for_request(request).plan_names)
    subs = []  # one row per change of plan, status, MRR or where the MRR comes from
    last = None
    lifecycle = state["lifecycle"] if state else ""
    # When today's lifecycle began (within the page's range): "not connected since ...".
    lifecycle_since = None
    for d, *_money, row_lifecycle in subscription_rows:
        if row_lifecycle != lifecycle:
            lifecycle_since = None
        elif lifecycle_since is None:
            lifecycle_since = d
    for d, plan, status, cents, currency, source, _lifecycle in subscription_rows:
        if (plan, status, cents, currency, source) != last:
            last = (plan, status, cents, currency, source)
            subs.append(
                {
                    "day": d,
                    "plan": plan_names.get(plan) or plan,
                    "status": status,
                    "mrr": cents,
                    "currency": currency,
                    "source": source,
                }
            )
    # Read whether shown or not: the page costs as many queries either way.
    prediction = _prediction(prediction_rows)
    return render(
        request,
        "analytics/location.html",
        {
            "churn": churn_status(churn.summary_for_request(request), request),
            # Sentiment is the agency's: its clients' people see neither answers nor the prompt.
            "client_view": is_client(request),
            "prediction": prediction if analysed else None,
            "nps_on": bool(nps_on_rows),
            "nps": nps.tally(r[3:] for r in nps_rows),
            "nps_recent": [
                {"who": n or u, "comment": c, "rating": r, "day": d, "category": nps_category(r)}
                for n, u, c, _outcome, r, d in nps_rows
                if r is not None
            ][:5],
            "location": location,
            "panels": [p for p in (panel(request, location) for panel in PANELS) if p],
            "labels": LocationLabels(request, location),
            "lifecycle": lifecycle,
            "lifecycle_since": lifecycle_since,
            "first_day": state["first_day"] if state else None,
            "onboarding_day": (day - state["first_day"]).days + 1
            if state and state["first_day"]
            else None,
            "scored_today": latest is not None and latest.day == day,
            "analysed": analysed,
            **_plan_notice(scope, request),
            "day": day,
            "days": days,
            "history_days": HISTORY_DAYS,
            # The last 30 days, newest first, each with its contributions as one line of text.
            "history": [
                (
                    h.day.isoformat(),
                    h.score,
                    h.band,
                    ", ".join(f"{k} {v}" for k, v in h.contributions.items()),
                )
                for h in reversed(history[-30:])
            ],
            "counts": counts,
            "latest": latest,
            "week_ago": week_ago,
            "explanation": explanation,
            "chart": chart,
            "markers": markers,
            "flags": [
                (risk.FLAG_LABELS.get(code, code), evidence)
                for code, evidence in flags_for_viewer(request, flags)
            ],
            # (label, value 0-100, contribution) as the table prints them.
            "components": [
                (
                    scores.COMPONENT_LABELS[c],
                    _one_decimal(latest.components.get(c) if latest else None),
                    _one_decimal(latest.contributions.get(c) if latest else None),
                )
                for c in scores.COMPONENTS
            ],
            # Most time first, as on the logins page.
            "activity": sorted(
                ((f, feature_minutes.get(f, 0)) for f in FEATURES), key=lambda fm: -fm[1]
            ),
            "sessions30": state["sessions"] if state else 0,
            # The sub-account's own people, and agency staff who worked in it, apart.
            "users": [u for u in users if not u["staff"]],
            "staff": [u for u in users if u["staff"]],
            "subs": list(reversed(subs)),
        },
    )
