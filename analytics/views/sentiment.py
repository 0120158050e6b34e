"""Sentiment: the feedback page (NPS per sub-account and for the portfolio, comments, CSV) and
switching the tracker's NPS prompt on or off (one sub-account, or in bulk from the settings
page, with how often one person may be asked). Figures follow analytics.nps' definitions."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Min
from django.shortcuts import redirect, render
from django.utils import timezone as dj_tz
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.visibility import location_for_request, visible_locations
from analytics import charts, nps, segments
from analytics.agencyclock import agency_today
from analytics.models import (
    NPS_COMMENT_MAX,
    NPS_DEFAULT_ASK_EVERY_DAYS,
    NpsOptIn,
    NpsResponse,
    SentimentSettings,
    outcome_category,
)
from analytics.views.common import (
    BadParam,
    ScopeBar,
    agency_staff,
    handles_bad_params,
    owner_or_admin,
    paginate,
    wants_csv,
)
from analytics.views.csvexport import csv_response, file_name
from billing.gating import refuse_writes_when_read_only
from gocsm.errors import error_response

DEFAULT_DAYS = 180
ASK_EVERY_MIN, ASK_EVERY_MAX = 7, 365


class FeedbackFilter(forms.Form):
    location = forms.ChoiceField(required=False)
    category = forms.ChoiceField(
        required=False, choices=[("", "All"), *nps.CATEGORY_LABELS.items()]
    )
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "All sub-accounts"), *locations]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” is after “to”.")
        return data


@handles_bad_params
@agency_staff
def feedback(request):
    agency = request.agency
    today = agency_today(agency)
    names = dict(visible_locations(request).values_list("ghl_id", "name"))
    # Segment, tag and book narrow the page like every portfolio page (analytics.segments).
    narrowing = segments.narrowing_for(request)
    if narrowing.active:
        kept = narrowing.keep(agency, names)
        names = {k: v for k, v in names.items() if k in kept}
    form = FeedbackFilter(
        request.GET or None,
        locations=sorted(names.items(), key=lambda kv: (kv[1] or kv[0]).lower()),
    )
    if request.GET and not form.is_valid():
        raise BadParam("filter")
    data = form.cleaned_data if form.is_bound else {}
    until = data.get("until") or today
    since = data.get("since") or _default_since(agency, until)
    location, category = data.get("location") or "", data.get("category") or ""
    rows = NpsResponse.objects.for_agency(agency).filter(day__range=(since, until))
    if getattr(request, "allowed_location_ids", None) is not None or narrowing.active:
        # A person GHL restricts to some sub-accounts sees only theirs; a narrowed page only
        # the sub-accounts it is narrowed to.
        rows = rows.filter(location_ghl_id__in=list(names))
    if location:
        rows = rows.filter(location_ghl_id=location)
    # Summaries: every answer and dismissal of the period (and sub-account); the category
    # filter narrows the list of answers only.
    summary_rows = list(rows.values_list("location_ghl_id", "outcome", "rating", "day"))
    listed = rows.order_by("-day", "-at", "-pk")
    if category == "dismissed":
        listed = listed.filter(outcome=NpsResponse.DISMISSED)
    elif category == "unanswered":
        listed = listed.filter(outcome=NpsResponse.ASKED)
    elif category == "promoter":
        listed = listed.filter(rating__gte=9)
    elif category == "passive":
        listed = listed.filter(rating__in=(7, 8))
    elif category == "detractor":
        listed = listed.filter(rating__lte=6)
    if wants_csv(request):
        return csv_response(
            file_name("feedback", names.get(location, "") if location else "", str(since)),
            ["day", "sub_account", "person", "rating", "category", "comment"],
            [
                (
                    r.day,
                    names.get(r.location_ghl_id) or r.location_ghl_id,
                    r.user_name or r.user_ghl_id,
                    r.rating,
                    r.category,
                    r.comment,
                )
                for r in listed.iterator()
            ],
        )
    portfolio = nps.tally(row[1:] for row in summary_rows)
    per_location = nps.by_key(summary_rows, key=lambda r: r[0])
    switched_on = set(NpsOptIn.objects.for_agency(agency).values_list("location_ghl_id", flat=True))
    locations = [
        {
            "ghl_id": ghl_id,
            "name": names.get(ghl_id) or ghl_id,
            "t": per_location.get(ghl_id) or nps.Tally(),
            "on": ghl_id in switched_on,
        }
        for ghl_id in names
        if (not location or ghl_id == location)
        and (ghl_id in switched_on or ghl_id in per_location)
    ]
    locations.sort(key=lambda r: (r["t"].nps is None, r["t"].nps or 0, r["name"].lower()))
    by_month = nps.by_key(summary_rows, key=lambda r: r[3].replace(day=1))
    months = [(m, by_month.get(m) or nps.Tally()) for m in nps.months_between(since, until)]
    chart = charts.line_chart(
        [(m.strftime("%Y-%m"), t.nps) for m, t in months], "NPS", lo=-100, hi=100
    )
    page = paginate(
        [
            {
                "day": day,
                "sub_account": names.get(loc) or loc,
                "who": name or user,
                "rating": rating,
                "category": outcome_category(outcome, rating),
                "comment": comment,
            }
            for day, loc, name, user, outcome, rating, comment in listed.values_list(
                "day", "location_ghl_id", "user_name", "user_ghl_id", "outcome", "rating", "comment"
            )
        ],
        request,
    )
    return render(
        request,
        "analytics/feedback.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "portfolio": portfolio,
            "locations": locations,
            "months": list(reversed(months)),
            "chart": chart,
            "page": page,
            "any_switched_on": bool(switched_on),
            "comment_max": NPS_COMMENT_MAX,
            "category_labels": nps.CATEGORY_LABELS,
            "definitions": nps.__doc__,
            "narrowing": narrowing,
            "scope_bar": ScopeBar(narrowing, request),
        },
    )


def _actor(request) -> dict:
    return {
        "agency": request.agency,
        "actor_type": "ghl_user",
        "actor_id": request.ghl_user.ghl_id,
        "request": request,
    }


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def nps_location(request, ghl_id: str):
    """Switch the prompt on or off for one sub-account (its page's form)."""
    location = location_for_request(request, ghl_id)
    wanted = request.POST.get("nps")
    if wanted not in ("on", "off"):
        return error_response(request, 400, "Choose on or off.")
    switch_nps(request, {location.ghl_id} if wanted == "on" else set(), {location.ghl_id})
    messages.success(
        request,
        f"The NPS prompt is {wanted} for {location.name or location.ghl_id}.",
    )
    return redirect("analytics:location-detail", ghl_id=location.ghl_id)


def switch_nps(request, on: set[str], among: set[str]) -> tuple[int, int]:
    """Of the sub-accounts `among`, switch `on` on and the rest off; (switched on, off)."""
    agency = request.agency
    with transaction.atomic(using="analytics"):
        current = set(
            NpsOptIn.objects.for_agency(agency)
            .filter(location_ghl_id__in=among)
            .values_list("location_ghl_id", flat=True)
        )
        added, removed = on - current, (among - on) & current
        NpsOptIn.objects.bulk_create(
            NpsOptIn(
                agency_id=agency.pk,
                location_ghl_id=ghl_id,
                enabled_by=request.ghl_user.ghl_id,
            )
            for ghl_id in sorted(added)
        )
        if removed:
            NpsOptIn.objects.for_agency(agency).filter(location_ghl_id__in=removed).delete()
    if added or removed:
        audit.record(
            "analytics.nps_prompt_switched",
            **_actor(request),
            detail={"on": sorted(added), "off": sorted(removed)},
        )
    return len(added), len(removed)


class NpsSettingsForm(forms.Form):
    ask_every_days = forms.IntegerField(min_value=ASK_EVERY_MIN, max_value=ASK_EVERY_MAX)
    locations = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["locations"].choices = list(locations)


def sentiment_settings_context(request) -> dict:
    """What the settings page's NPS section shows."""
    agency = request.agency
    row = SentimentSettings.objects.for_agency(agency).first()
    # Counts only: a list of every sub-account to tick made the page 5x the trivial one at 2,000
    # sub-accounts (bench/dashboard.py); the list pages' bulk form switches selected rows.
    switched_on = NpsOptIn.objects.for_agency(agency)
    if request.allowed_location_ids is None:
        # The whole agency, counted by the databases: a sub-account is never deleted (GHL's
        # deletion marks it not connected; only a purge removes it, with its opt-ins), so
        # every opt-in is one of the agency's sub-accounts.
        total = visible_locations(request).count()
        on = switched_on.count()
    else:
        # Another database: the visible ids are compared here, not in a subquery.
        visible = set(visible_locations(request).values_list("ghl_id", flat=True))
        total = len(visible)
        on = len(visible.intersection(switched_on.values_list("location_ghl_id", flat=True)))
    return {
        "nps_ask_every_days": row.ask_every_days if row else NPS_DEFAULT_ASK_EVERY_DAYS,
        "nps_default_days": NPS_DEFAULT_ASK_EVERY_DAYS,
        "nps_total": total,
        "nps_on_count": on,
        "nps_min": ASK_EVERY_MIN,
        "nps_max": ASK_EVERY_MAX,
    }


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def nps_settings(request):
    """The settings page's NPS form: how often one person may be asked, and the sub-accounts
    the prompt is on for (the ticked ones; `all=on` / `all=off` switch every one)."""
    agency = request.agency
    names = dict(visible_locations(request).values_list("ghl_id", "name"))
    if not set(request.POST.getlist("locations")) <= set(names):
        # Another agency's (or a hidden) sub-account: as if it did not exist, nothing changed.
        return error_response(request, 404)
    form = NpsSettingsForm(request.POST, locations=names.items())
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return error_response(request, 400, f"Not saved: {errors}")
    everything = request.POST.get("all")
    if everything == "on":
        on = set(names)
    elif everything == "off":
        on = set()
    elif everything in (None, "") and "locations" in request.POST:
        on = set(form.cleaned_data["locations"])
    elif everything in (None, ""):
        on = None  # the interval only
    else:
        return error_response(request, 400, "Not saved: all must be on or off.")
    days = form.cleaned_data["ask_every_days"]
    with transaction.atomic(using="analytics"):
        row = SentimentSettings.objects.for_agency(agency).first()
        if row is None or row.ask_every_days != days:
            SentimentSettings.objects.for_agency(agency).update_or_create(
                agency_id=agency.pk,
                defaults={
                    "ask_every_days": days,
                    "updated_at": dj_tz.now(),
                    "updated_by": request.ghl_user.ghl_id,
                },
            )
            audit.record("analytics.nps_interval_changed", **_actor(request), detail={"days": days})
    added, removed = switch_nps(request, on, set(names)) if on is not None else (0, 0)
    messages.success(
        request,
        f"NPS prompt saved: asked at most every {days} days; switched on for {added}, "
        f"off for {removed} sub-account{'s' if removed != 1 else ''}.",
    )
    return redirect("analytics:settings")


def _default_since(agency, until):
    """The last DEFAULT_DAYS days, from the agency's first prompt on when that is later: months
    before the prompt existed would fill the chart and the table with empty months."""
    since = until - timedelta(days=DEFAULT_DAYS - 1)
    first = NpsResponse.objects.for_agency(agency).aggregate(first=Min("day"))["first"]
    return first if first is not None and since < first <= until else since
