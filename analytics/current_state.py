"""Precomputed "where things stand" for the dashboards, rebuilt after every recompute.

The day is the agency's latest scored day (analytics.portfolio.as_of). Per sub-account
(LocationState): score, band, 7-day change, 30-day sparkline, counted MRR, flags and risk weight,
last activity, the adoption features of that day's score, 30-day login figures and tier mix,
and the rank used by the plan's sub-account limit. Per agency (PortfolioState): active users
(each person once across sub-accounts) and sessions over 30 days and the 30 before, the weekly
band trend, daily MRR per currency for a year and the monthly MRR movements.

Every figure follows the same definitions the pages used when they computed them per request
(analytics.portfolio, analytics.revenue); the pages now read these rows instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone as dj_tz

from accounts.models import Agency, GHLUser, Location, SaasPlan
from analytics import alertorder, charts, daystate, risk, scores
from analytics.bulk_insert import write_rows
from analytics.churnmodel import expected_loss as churn_expected_loss
from analytics.models import (
    ADOPTION_BITS,
    ADOPTION_FEATURES,
    AGENCY_SCOPE,
    FEATURES,
    ActivityRollup,
    Alert,
    ChurnPrediction,
    Grain,
    HealthScore,
    LocationDay,
    LocationState,
    MRRSource,
    PortfolioState,
    RiskFlag,
    UserActivityDay,
    WeightChange,
)
from analytics.planlimit import limit_for_agency
from analytics.revenue import month_end_mrr, movements, mrr_by_day

DB = "analytics"
SPARK_DAYS = 30
TREND_WEEKS = 12
MRR_DAYS = 365
STATE_COLUMNS = (
    "agency_id",
    "location_ghl_id",
    "name",
    "sort_name",
    "day",
    "analysis_rank",
    "score",
    "band",
    "change",
    "spark",
    "mrr_cents",
    "currency",
    "risk_weight",
    "mrr_at_risk",
    "flag_codes",
    "flags",
    "top_reason",
    "last_activity",
    "adoption_known",
    "adoption_used",
    "active_users",
    "staff_users",
    "sessions",
    "minutes",
    "tier_heavy",
    "tier_regular",
    "tier_casual",
    "tier_ghosting",
    "feature_minutes",
    "users",
    "lifecycle",
    "first_day",
    "mrr_source",
    "subscription_status",
    "plan_name",
    "churn_probability",
    "expected_mrr_lost",
)


def latest_day(agency_id: int) -> date | None:
    """The latest day with a state (analytics.daystate): the day every page is "as of"."""
    return LocationDay.objects.for_agency(agency_id).aggregate(d=Max("day"))["d"]


def _activity(agency_id: int, first: date, last: date) -> dict[str, dict]:
    """Per sub-account over [first, last]: own active users, staff, sessions and minutes."""
    out: dict[str, dict] = {}
    rows = (
        UserActivityDay.objects.for_agency(agency_id)
        .filter(day__range=(first, last), sessions__gt=0)
        .values("location_ghl_id")
        .annotate(
            active=Count("user_ghl_id", distinct=True, filter=Q(is_agency_staff=False)),
            staff=Count("user_ghl_id", distinct=True, filter=Q(is_agency_staff=True)),
            sessions=Sum("sessions", filter=Q(is_agency_staff=False)),
            minutes=Sum("minutes_total", filter=Q(is_agency_staff=False)),
        )
    )
    for r in rows:
        out[r["location_ghl_id"]] = {
            "active_users": r["active"],
            "staff_users": r["staff"],
            "sessions": r["sessions"] or 0,
            "minutes": r["minutes"] or 0,
        }
    return out


def _people(agency_id: int, day: date) -> dict[str, dict]:
    """Per sub-account, from one pass over its people's activity up to `day` and GHL's list of
    its users: the last day its own users were active, the login tier of every one of its own
    users over the 30-day window (a user with no session in it is Ghosting, whether or not they
    were ever active), and the users list the sub-account page shows (agency staff apart)."""
    first = day - timedelta(days=scores.WINDOW - 1)
    names: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for user, name, location_ids, role in (
        GHLUser.objects.for_agency(agency_id)
        .values_list("ghl_id", "name", "location_ids", "role")
        .filter(deleted=False)
    ):
        names[user] = name
        if role == GHLUser.ROLE_LOCATION:
            for loc in location_ids or ():
                members.setdefault(loc, []).append(user)
    out: dict[str, dict] = {}
    for loc, user, staff, last, n30 in (
        UserActivityDay.objects.for_agency(agency_id)
        .filter(sessions__gt=0, day__lte=day)
        .values("location_ghl_id", "user_ghl_id", "is_agency_staff")
        .annotate(last=Max("day"), n30=Count("day", filter=Q(day__gte=first)))
        .values_list("location_ghl_id", "user_ghl_id", "is_agency_staff", "last", "n30")
    ):
        entry = out.setdefault(loc, {"last": None, "users": {}})
        if not staff and (entry["last"] is None or last > entry["last"]):
            entry["last"] = last
        # A person active both as staff and as the sub-account's own user is listed twice, as
        # the page always has: the two kinds of activity are counted apart.
        entry["users"][(user, staff)] = (last, n30)
    for loc, users in members.items():
        listed = out.setdefault(loc, {"last": None, "users": {}})["users"]
        for user in users:
            listed.setdefault((user, False), (None, 0))
    for entry in out.values():
        users = []
        for (user, staff), (last, n30) in entry.pop("users").items():
            tier = scores.tier_for_share(n30 / scores.WINDOW)
            if not staff:
                entry["tier_" + tier] = entry.get("tier_" + tier, 0) + 1
            users.append(
                {
                    "name": names.get(user) or user,
                    "staff": staff,
                    "last": last.isoformat() if last else None,
                    "days30": n30,
                    "tier": tier,
                }
            )
        users.sort(key=lambda u: (u["staff"], -u["days30"], u["name"]))
        entry["users"] = users
    return out


def _feature_minutes(agency_id: int, first: date, last: date) -> dict[str, dict]:
    """Per sub-account over [first, last]: its own users' minutes per feature (day rollups)."""
    rows = (
        ActivityRollup.objects.for_agency(agency_id)
        .filter(grain=Grain.DAY, period_start__range=(first, last))
        .exclude(location_ghl_id=AGENCY_SCOPE)
        .values("location_ghl_id")
        .annotate(**{f: Sum(f"minutes_{f}") for f in FEATURES})
    )
    return {r["location_ghl_id"]: {f: r[f] for f in FEATURES if r[f]} for r in rows}


def _location_rows(agency_id: int, day: date) -> list[tuple]:
    names = dict(Location.objects.for_agency(agency_id).values_list("ghl_id", "name"))
    first = day - timedelta(days=SPARK_DAYS - 1)
    spark: dict[str, list] = {}
    latest: dict[str, tuple] = {}
    week_ago: dict[str, int] = {}
    for loc, d, score, band, known, used in (
        HealthScore.objects.for_agency(agency_id)
        .filter(Q(day__range=(first, day)) | Q(day=day - timedelta(days=7)))
        .values_list("location_ghl_id", "day", "score", "band", "adoption_known", "adoption_used")
    ):
        if d >= first:
            spark.setdefault(loc, [None] * SPARK_DAYS)[(d - first).days] = score
        if d == day:
            latest[loc] = (score, band, known, used)
        if d == day - timedelta(days=7):
            week_ago[loc] = score
    states = {
        row[0]: row[1:]
        for row in LocationDay.objects.for_agency(agency_id)
        .filter(day=day)
        .values_list(
            "location_ghl_id",
            "lifecycle",
            "mrr_cents",
            "currency",
            "mrr_source",
            "subscription_status",
            "plan_id",
        )
    }
    plan_names = dict(SaasPlan.objects.for_agency(agency_id).values_list("plan_id", "name"))
    firsts = daystate.first_days(agency_id)
    flags: dict[str, list] = {}
    for loc, code, weight, evidence in (
        RiskFlag.objects.for_agency(agency_id)
        .filter(day=day)
        .values_list("location_ghl_id", "code", "weight", "evidence")
    ):
        flags.setdefault(loc, []).append((weight, code, evidence))
    churn = {
        loc: p
        for loc, p in ChurnPrediction.objects.for_agency(agency_id).values_list(
            "location_ghl_id", "probability"
        )
    }
    people = _people(agency_id, day)
    activity = _activity(agency_id, day - timedelta(days=scores.WINDOW - 1), day)
    minutes = _feature_minutes(agency_id, day - timedelta(days=scores.WINDOW - 1), day)
    rows = []
    for loc, name in names.items():
        score, band, known, used = latest.get(loc, (None, "", 0, 0))
        prev = week_ago.get(loc)
        lifecycle, cents, cur, source, status, plan = states.get(
            loc, ("", None, "", MRRSource.NONE, "", "")
        )
        cents = cents or 0
        loc_flags = sorted(flags.get(loc, []), reverse=True)
        weight = risk.risk_weight(c for _w, c, _e in loc_flags)
        act = {**activity.get(loc, {}), **people.get(loc, {})}
        rows.append(
            {
                "loc": loc,
                "name": name or loc,
                "score": score,
                "band": band,
                "change": None if score is None or prev is None else score - prev,
                "spark": spark.get(loc, [None] * SPARK_DAYS),
                "mrr_cents": cents,
                "currency": (cur or "").upper(),
                "lifecycle": lifecycle,
                "first_day": firsts.get(loc),
                "source": source,
                "status": status,
                "plan_name": plan_names.get(plan) or plan,
                "risk_weight": weight,
                "mrr_at_risk": round(cents * weight),
                "codes": "".join(f",{c}" for _w, c, _e in loc_flags) + ("," if loc_flags else ""),
                "flags": [[c, e] for _w, c, e in loc_flags],
                "top_reason": risk.FLAG_LABELS[loc_flags[0][1]] if loc_flags else "",
                "last": act.get("last"),
                "known": known,
                "used": used,
                "act": act,
                "feature_minutes": minutes.get(loc, {}),
                "churn": churn.get(loc),
            }
        )
    # The plan's sub-account limit analyses the highest-MRR sub-accounts first, then by name.
    rows.sort(key=lambda r: (-r["mrr_cents"], r["name"].lower(), r["loc"]))
    return [
        (
            agency_id,
            r["loc"],
            r["name"][:200],
            r["name"].lower()[:200],
            day,
            rank,
            r["score"],
            r["band"],
            r["change"],
            charts.spark_points(r["spark"]),
            r["mrr_cents"],
            r["currency"],
            r["risk_weight"],
            r["mrr_at_risk"],
            r["codes"][:300],
            json.dumps(r["flags"]),
            r["top_reason"],
            r["last"],
            r["known"],
            r["used"],
            r["act"].get("active_users", 0),
            r["act"].get("staff_users", 0),
            r["act"].get("sessions", 0),
            r["act"].get("minutes", 0),
            r["act"].get("tier_heavy", 0),
            r["act"].get("tier_regular", 0),
            r["act"].get("tier_casual", 0),
            r["act"].get("tier_ghosting", 0),
            json.dumps(r["feature_minutes"]),
            json.dumps(r["act"].get("users", [])),
            r["lifecycle"],
            r["first_day"],
            r["source"],
            r["status"],
            r["plan_name"][:200],
            r["churn"],
            churn_expected_loss(r["churn"], r["mrr_cents"], r["source"]),
        )
        for rank, r in enumerate(rows, start=1)
    ]


def activity_totals(qs_activity, qs_rollup) -> dict:
    """Sessions and minutes from day rollups, active people counted once, for one window."""
    sums = qs_rollup.aggregate(s=Sum("sessions"), m=Sum("minutes_total"))
    active = (
        qs_activity.filter(sessions__gt=0, is_agency_staff=False)
        .values("user_ghl_id")
        .distinct()
        .count()
    )
    return {"sessions": sums["s"] or 0, "minutes": sums["m"] or 0, "active_users": active}


def agency_window(agency_id: int, first: date, last: date, analysed=None) -> dict:
    activity = UserActivityDay.objects.for_agency(agency_id).filter(day__range=(first, last))
    rollups = ActivityRollup.objects.for_agency(agency_id).filter(
        grain="day", period_start__range=(first, last)
    )
    if analysed is None:
        rollups = rollups.filter(location_ghl_id=AGENCY_SCOPE)
    else:
        activity = activity.filter(location_ghl_id__in=analysed)
        rollups = rollups.filter(location_ghl_id__in=analysed)
    return activity_totals(activity, rollups)


def band_trend_days(day: date) -> list[date]:
    return [day - timedelta(days=7 * k) for k in range(TREND_WEEKS - 1, -1, -1)]


def movement_dicts(month_end) -> list[dict]:
    return [
        {**asdict(m), "month": m.month.isoformat(), "churned": []} for m in movements(month_end)
    ]


def _portfolio_row(agency_id: int, day: date, analysed: list[str] | None) -> dict:
    """Figures over the analysed sub-accounts (None = all of them)."""
    now = agency_window(agency_id, day - timedelta(days=29), day, analysed)
    before = agency_window(agency_id, day - timedelta(days=59), day - timedelta(days=30), analysed)
    days = band_trend_days(day)
    trend: dict[date, dict[str, int]] = {d: {} for d in days}
    scores_qs = HealthScore.objects.for_agency(agency_id)
    states_qs = LocationDay.objects.for_agency(agency_id)
    if analysed is not None:
        scores_qs = scores_qs.filter(location_ghl_id__in=analysed)
        states_qs = states_qs.filter(location_ghl_id__in=analysed)
    for d, band, n in (
        scores_qs.filter(day__in=days)
        .values("day", "band")
        .annotate(n=Count("id"))
        .values_list("day", "band", "n")
    ):
        trend[d][band] = n
    return {
        "day": day,
        "active_users": now["active_users"],
        "active_users_before": before["active_users"],
        "sessions": now["sessions"],
        "sessions_before": before["sessions"],
        "band_trend": [[d.isoformat(), c] for d, c in trend.items()],
        "mrr_daily": mrr_by_day(agency_id, states_qs, day - timedelta(days=MRR_DAYS - 1), day),
        "movements": movement_dicts(month_end_mrr(agency_id, analysed)),
        "refreshed_at": dj_tz.now(),
    }


def refresh(agency_id: int) -> None:
    """Rebuild the agency's LocationState rows and PortfolioState for its latest scored day."""
    day = latest_day(agency_id)
    with transaction.atomic(using=DB):
        LocationState.objects.for_agency(agency_id).delete()
        if day is None:
            PortfolioState.objects.for_agency(agency_id).delete()
            return
        rows = _location_rows(agency_id, day)
        _copy_rows(rows)
        limit = _plan_limit(agency_id)
        if limit is not None and len(rows) <= limit:
            limit = None
        # rows are in rank order: the plan analyses the first `limit` of them.
        analysed = None if limit is None else [r[1] for r in rows[:limit]]
        counted = rows if limit is None else rows[:limit]
        bands: dict[str, int] = {}
        lifecycles: dict[str, int] = {}
        billing: dict[str, int] = {}
        mrr: dict[str, int] = {}
        at_risk: dict[str, int] = {}
        tiers = dict.fromkeys(("heavy", "regular", "casual", "ghosting"), 0)
        col = {name: k for k, name in enumerate(STATE_COLUMNS)}
        for r in counted:
            for k, tier in enumerate(tiers, start=col["tier_heavy"]):
                tiers[tier] += r[k]
            band, cents, cur, risky = (
                r[col["band"]],
                r[col["mrr_cents"]],
                r[col["currency"]],
                r[col["mrr_at_risk"]],
            )
            lifecycle = r[col["lifecycle"]]
            lifecycles[lifecycle] = lifecycles.get(lifecycle, 0) + 1
            if lifecycle in daystate.SCORED:
                # Band counts cover the scored sub-accounts ("" = scored but no data yet);
                # not connected and churned ones are counted by lifecycle only.
                bands[band] = bands.get(band, 0) + 1
                source = r[col["mrr_source"]]
                billing[source] = billing.get(source, 0) + 1
            if cents:
                mrr[cur] = mrr.get(cur, 0) + cents
            if risky:
                at_risk[cur] = at_risk.get(cur, 0) + risky
        PortfolioState.objects.for_agency(agency_id).update_or_create(
            agency_id=agency_id,
            defaults={
                "band_counts": bands,
                "lifecycle_counts": lifecycles,
                "billing_counts": billing,
                "tiers": tiers,
                "mrr_totals": dict(sorted(mrr.items())),
                "risk_totals": dict(sorted(at_risk.items())),
                **_portfolio_row(agency_id, day, analysed),
                "weight_changes": _weight_changes(agency_id, day),
                "alerts": _recent_alerts(agency_id, day, rows, analysed),
                "flagged": sum(1 for r in counted if r[col["flag_codes"]]),
                "adoption": _adoption(counted),
                **_login_series(agency_id, day, analysed),
                "locations": len(rows),
                "limit_applied": limit,
            },
        )


HISTORY_DAYS = 365
ALERT_DAYS = 7
ALERTS_KEPT = 20


def _adoption(counted: list[tuple]) -> dict[str, list[int]]:
    known_at, used_at = STATE_COLUMNS.index("adoption_known"), STATE_COLUMNS.index("adoption_used")
    out = {f: [0, 0] for f in ADOPTION_FEATURES}
    for r in counted:
        for f, bit in ADOPTION_BITS.items():
            if r[known_at] & bit:
                out[f][1] += 1
                out[f][0] += 1 if r[used_at] & bit else 0
    return out


def _login_series(agency_id: int, day: date, analysed: list[str] | None) -> dict:
    """Own users' sessions per day and minutes per feature over the 30 days, over the analysed
    sub-accounts (the agency-wide rollup rows when every one is analysed)."""
    first = day - timedelta(days=scores.WINDOW - 1)
    qs = ActivityRollup.objects.for_agency(agency_id).filter(
        grain=Grain.DAY, period_start__range=(first, day)
    )
    if analysed is None:
        qs = qs.filter(location_ghl_id=AGENCY_SCOPE)
    else:
        qs = qs.filter(location_ghl_id__in=analysed)
    series, minutes = login_series(qs, first)
    return {"sessions_daily": [list(p) for p in series], "feature_minutes": minutes}


def login_series(day_rollups, first: date) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """From day rollup rows of the 30 days from `first`: (iso day, sessions) for each day, and
    minutes per feature summed."""
    daily: dict[date, int] = {}
    minutes = dict.fromkeys(FEATURES, 0)
    for row in day_rollups.values("period_start", "sessions", *(f"minutes_{f}" for f in FEATURES)):
        d = row["period_start"]
        daily[d] = daily.get(d, 0) + (row["sessions"] or 0)
        for f in FEATURES:
            minutes[f] += row[f"minutes_{f}"] or 0
    days = (first + timedelta(days=k) for k in range(scores.WINDOW))
    return [(d.isoformat(), daily.get(d, 0)) for d in days], minutes


def _weight_changes(agency_id: int, day: date) -> list[list[str]]:
    return [
        [d.isoformat(), by]
        for d, by in WeightChange.objects.for_agency(agency_id)
        .filter(day__range=(day - timedelta(days=HISTORY_DAYS - 1), day))
        .order_by("day", "at")
        .values_list("day", "changed_by")
    ]


def _recent_alerts(agency_id: int, day: date, rows, analysed) -> list[dict]:
    """What analytics.portfolio.recent_alerts returns for the whole portfolio, kept with the
    state so the overview reads it instead of querying alerts on every view."""
    qs = Alert.objects.for_agency(agency_id).filter(
        day__range=(day - timedelta(days=ALERT_DAYS - 1), day)
    )
    if analysed is not None:
        qs = qs.filter(location_ghl_id__in=analysed)
    names = {r[1]: r[2] for r in rows}
    return [
        {
            "day": d.isoformat(),
            "location_ghl_id": loc,
            "location_name": names.get(loc) or loc,
            "kind": kind,
            "code": code,
            "message": message,
        }
        for d, loc, kind, code, message in alertorder.ranked(qs).values_list(
            "day", "location_ghl_id", "kind", "code", "message"
        )[:ALERTS_KEPT]
    ]


def _plan_limit(agency_id: int) -> int | None:
    agency = Agency.objects.filter(pk=agency_id).first()
    return None if agency is None else limit_for_agency(agency)


def _copy_rows(rows: list[tuple]) -> None:
    write_rows(LocationState, STATE_COLUMNS, rows)
