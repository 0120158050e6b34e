"""Read side of the dashboards: a fixed number of queries whatever the number of sub-accounts.

Pages read the precomputed current state (analytics.current_state): LocationState rows sorted,
filtered and paginated in SQL, and the agency's PortfolioState. A Scope says which sub-accounts
the page covers: those the user may see (None = all) and, under a plan with a sub-account limit,
only the first N by analysis rank. When a page covers the whole portfolio it reads the
agency-wide figures; otherwise it aggregates the covered sub-accounts' rows in SQL, bounded by
the scope. Either way the number of queries is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import quote

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.urls import reverse

from accounts.models import Location
from accounts.tenantsql import Select
from analytics import alertorder, current_state, daystate, segments
from analytics.agencyclock import agency_today
from analytics.models import (
    Alert,
    HealthScore,
    LocationState,
    PortfolioState,
)
from analytics.planlimit import limit_for_agency, plan_limit


@dataclass
class Scope:
    agency: object
    allowed: frozenset | None
    limit: int | None
    state: PortfolioState | SimpleNamespace | None
    # What the page is narrowed to (analytics.segments): its tag, premium and book ids are
    # already in `allowed`; its segment's rule filters the current state.
    narrowing: segments.Narrowing = field(default_factory=segments.Narrowing)

    @property
    def agency_id(self) -> int:
        return self.agency.pk

    @property
    def day(self) -> date:
        return self.state.day if self.state else agency_today(self.agency)

    @property
    def total(self) -> int:
        """Sub-accounts known to the last recompute."""
        return self.state.locations if self.state else 0

    @property
    def not_analysed(self) -> int:
        """Sub-accounts the plan leaves out (over the whole agency)."""
        if self.limit is None:
            return 0
        return max(0, self.total - self.limit)

    @property
    def whole(self) -> bool:
        """True when the page covers exactly the sub-accounts PortfolioState was computed over
        (every analysed one), so its figures apply as they are."""
        if self.allowed is not None or self.state is None or self.segment_rule is not None:
            return False
        effective = None if self.not_analysed == 0 else self.limit
        return self.state.limit_applied == effective

    @property
    def segment_rule(self):
        return self.narrowing.segment_rule

    def states(self):
        qs = LocationState.objects.for_agency(self.agency_id)
        if self.allowed is not None:
            qs = qs.filter(location_ghl_id__in=self.allowed)
        if self.segment_rule is not None:
            qs = qs.filter(self.segment_rule)
        if self.limit is not None:
            qs = qs.filter(analysis_rank__lte=self.limit)
        return qs

    def covered(self, qs):
        """Restrict any analytics queryset with a location_ghl_id to the covered sub-accounts."""
        if self.allowed is not None:
            qs = qs.filter(location_ghl_id__in=self.allowed)
        if self.limit is not None:
            ranked = LocationState.objects.for_agency(self.agency_id).filter(
                analysis_rank__lte=self.limit
            )
            qs = qs.filter(location_ghl_id__in=ranked.values("location_ghl_id"))
        if self.segment_rule is not None:
            members = LocationState.objects.for_agency(self.agency_id).filter(self.segment_rule)
            qs = qs.filter(location_ghl_id__in=members.values("location_ghl_id"))
        return qs


_STATE_COLUMNS = tuple(
    f.attname for f in PortfolioState._meta.concrete_fields if f.attname not in ("id",)
)
# Only the revenue page needs the year of daily MRR and the movements.
_STATE_READS = {
    True: Select(PortfolioState, _STATE_COLUMNS, limit=1),
    False: Select(
        PortfolioState,
        tuple(c for c in _STATE_COLUMNS if c not in ("mrr_daily", "movements")),
        limit=1,
    ),
}


def scope_for(request, revenue: bool = False, narrow: bool = True) -> Scope:
    """One query: the agency's PortfolioState (the latest scored day and its totals), read as
    plain attributes (accounts.tenantsql: every page makes this read). With `narrow`, the
    page's segment, tag and book parameters narrow it (analytics.segments.narrowing_for, which
    raises BadNarrowing for a value the agency does not have)."""
    narrowing = segments.narrowing_for(request) if narrow else segments.Narrowing()
    read = _STATE_READS[revenue]
    row = read.first(request.agency.pk)
    state = None if row is None else SimpleNamespace(**dict(zip(read.columns, row, strict=True)))
    allowed = narrowing.restrict(request.allowed_location_ids)
    return Scope(request.agency, allowed, plan_limit(request), state, narrowing)


def scope_for_agency(agency, allowed: frozenset | None = None) -> Scope:
    """The whole-agency scope of jobs (the digest), with the plan's limit; `allowed` narrows it
    (a CSM's book)."""
    state = PortfolioState.objects.for_agency(agency.pk).first()
    return Scope(agency, allowed, limit_for_agency(agency), state)


def as_of(agency) -> date:
    """The latest scored day (today in the agency's timezone when nothing is scored yet)."""
    day = HealthScore.objects.for_agency(agency.pk).aggregate(d=Max("day"))["d"]
    return day or agency_today(agency)


def unscored_rows(scope: Scope, q: str = "") -> list[dict]:
    """Before the first recompute there is no state: list the sub-accounts by name only (none
    is in a segment decided by the state yet: analytics.segments)."""
    if scope.segment_rule is not None:
        return []
    qs = Location.objects.for_agency(scope.agency)
    if scope.allowed is not None:
        qs = qs.filter(ghl_id__in=scope.allowed)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(ghl_id__icontains=q))
    rows = [
        {
            "ghl_id": ghl_id,
            "url": detail_url(ghl_id),
            "location_ghl_id": ghl_id,
            "name": name or ghl_id,
            "score": None,
            "band": "",
            "change": None,
            "spark": "",
            "lifecycle": "",
            "mrr_source": "none",
            "mrr_cents": 0,
            "currency": "",
            "risk_weight": 0,
            "mrr_at_risk": 0,
            "flags": [],
            "top_reason": "",
            "last_activity": None,
        }
        for ghl_id, name in qs.values_list("ghl_id", "name")
    ]
    rows.sort(key=lambda r: r["name"].lower())
    if scope.limit is not None:
        rows = rows[: scope.limit]
    return rows


@dataclass
class Totals:
    """Counts and money over the covered sub-accounts on the state's day."""

    bands: dict[str, int]  # scored sub-accounts per band ("" = no data yet)
    lifecycles: dict[str, int]  # every sub-account per lifecycle ("" = no data at all yet)
    billing: dict[str, int]  # scored sub-accounts per MRR source (ghl, manual, none)
    mrr: dict[str, int]  # MRR per currency
    at_risk: dict[str, int]  # MRR at risk per currency


def totals(scope: Scope) -> Totals:
    if scope.whole:
        s = scope.state
        return Totals(
            s.band_counts, s.lifecycle_counts, s.billing_counts, s.mrr_totals, s.risk_totals
        )
    out = Totals({}, {}, {}, {}, {})
    for band, lifecycle, source, cur, n, cents, risky in (
        scope.states()
        .values("band", "lifecycle", "mrr_source", "currency")
        .annotate(n=Count("id"), cents=Sum("mrr_cents"), risky=Sum("mrr_at_risk"))
        .values_list("band", "lifecycle", "mrr_source", "currency", "n", "cents", "risky")
    ):
        out.lifecycles[lifecycle] = out.lifecycles.get(lifecycle, 0) + n
        if lifecycle in daystate.SCORED:
            out.bands[band] = out.bands.get(band, 0) + n
            out.billing[source] = out.billing.get(source, 0) + n
        if cents:
            out.mrr[cur] = out.mrr.get(cur, 0) + cents
        if risky:
            out.at_risk[cur] = out.at_risk.get(cur, 0) + risky
    out.mrr, out.at_risk = dict(sorted(out.mrr.items())), dict(sorted(out.at_risk.items()))
    return out


def activity_tiles(scope: Scope) -> tuple[dict, dict]:
    """(last 30 days, the 30 before): active users (each person once) and sessions."""
    if scope.whole or scope.state is None:
        s = scope.state if scope.whole else None
        return (
            {"active_users": s.active_users if s else 0, "sessions": s.sessions if s else 0},
            {
                "active_users": s.active_users_before if s else 0,
                "sessions": s.sessions_before if s else 0,
            },
        )
    from analytics.models import UserActivityDay

    day = scope.day
    now_first, before_first = day - timedelta(days=29), day - timedelta(days=59)
    own = Q(sessions__gt=0, is_agency_staff=False)
    agg = scope.covered(
        UserActivityDay.objects.for_agency(scope.agency_id).filter(
            own, day__range=(before_first, day)
        )
    ).aggregate(
        now_users=Count("user_ghl_id", distinct=True, filter=Q(day__gte=now_first)),
        before_users=Count("user_ghl_id", distinct=True, filter=Q(day__lt=now_first)),
        now_sessions=Sum("sessions", filter=Q(day__gte=now_first)),
        before_sessions=Sum("sessions", filter=Q(day__lt=now_first)),
    )
    return (
        {"active_users": agg["now_users"], "sessions": agg["now_sessions"] or 0},
        {"active_users": agg["before_users"], "sessions": agg["before_sessions"] or 0},
    )


def band_trend(scope: Scope) -> list[tuple[date, dict]]:
    """Band counts on the same weekday for the last 12 weeks."""
    if scope.whole or scope.state is None:
        return [
            (date.fromisoformat(d), counts)
            for d, counts in (scope.state.band_trend if scope.whole else [])
        ]
    days = current_state.band_trend_days(scope.day)
    counts: dict[date, dict[str, int]] = {d: {} for d in days}
    qs = scope.covered(HealthScore.objects.for_agency(scope.agency_id).filter(day__in=days))
    for d, band, n in (
        qs.values("day", "band").annotate(n=Count("id")).values_list("day", "band", "n")
    ):
        counts[d][band] = n
    return list(counts.items())


def recent_alerts(scope: Scope, days: int = 7, limit: int = 20) -> list:
    """The latest alerts, each with `location_name` (from the current state, same query) and
    `url`. For the whole portfolio they come with its state (no query)."""
    if scope.whole and days == current_state.ALERT_DAYS and limit <= current_state.ALERTS_KEPT:
        return [
            SimpleNamespace(
                **{**a, "day": date.fromisoformat(a["day"])}, url=detail_url(a["location_ghl_id"])
            )
            for a in scope.state.alerts[:limit]
        ]
    day = scope.day
    name = LocationState.objects.for_agency(scope.agency_id).filter(
        location_ghl_id=OuterRef("location_ghl_id")
    )
    alerts = list(
        alertorder.ranked(
            scope.covered(
                Alert.objects.for_agency(scope.agency_id).filter(
                    day__range=(day - timedelta(days=days - 1), day)
                )
            )
        ).annotate(location_name=Subquery(name.values("name")[:1]))[:limit]
    )
    for a in alerts:
        a.location_name = a.location_name or a.location_ghl_id
        a.url = detail_url(a.location_ghl_id)
    return alerts


_URL_MARK = "__ghl_id__"


def detail_url(ghl_id: str) -> str:
    """The sub-account page's URL without a resolver pass per table row."""
    global _DETAIL_BASE
    if _DETAIL_BASE is None:
        _DETAIL_BASE = reverse("analytics:location-detail", args=[_URL_MARK])
    return _DETAIL_BASE.replace(_URL_MARK, quote(ghl_id, safe=""))


_DETAIL_BASE: str | None = None


ROW_FIELDS = (
    "location_ghl_id",
    "lifecycle",
    "mrr_source",
    "subscription_status",
    "name",
    "score",
    "band",
    "change",
    "spark",
    "mrr_cents",
    "currency",
    "risk_weight",
    "mrr_at_risk",
    "top_reason",
    "last_activity",
    "churn_probability",
    "expected_mrr_lost",
)


def as_row(state: dict) -> dict:
    """LocationState values (ROW_FIELDS, optionally "flags") as the dict templates and CSV
    exports use. Plain values, not model instances: cheaper for a page of rows."""
    loc = state["location_ghl_id"]
    return {
        **state,
        "ghl_id": loc,
        "url": detail_url(loc),
        "name": state["name"] or loc,
        "flags": [tuple(f) for f in state.get("flags", ())],
    }


def state_rows(qs, with_flags: bool = False) -> list[dict]:
    fields = (*ROW_FIELDS, "flags") if with_flags else ROW_FIELDS
    return [as_row(v) for v in qs.values(*fields)]


def at_risk_count(scope: Scope) -> int:
    """How many covered sub-accounts are at risk (a churn-risk flag raised): known from the
    state for the whole portfolio, one COUNT otherwise."""
    if scope.whole:
        return scope.state.flagged
    return scope.states().exclude(flag_codes="").count()


def at_risk_rows(scope: Scope, flag: str = "") -> list[dict]:
    """Covered sub-accounts with at least one flag, ranked by MRR at risk, then risk weight."""
    qs = scope.states().exclude(flag_codes="")
    if flag:
        qs = qs.filter(flag_codes__contains=f",{flag},")
    qs = qs.order_by("-mrr_at_risk", "-risk_weight", "sort_name", "location_ghl_id")
    return state_rows(qs, with_flags=True)
