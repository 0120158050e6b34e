"""Score settings: component weights and band bounds (owner/admin only)."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone as dj_tz

from accounts import audit
from analytics import scores, segments
from analytics.agencyclock import agency_today
from analytics.models import ScoreSettings, WeightChange
from analytics.score_settings import settings_for
from analytics.tasks import refresh_analytics_for_days
from analytics.views.common import owner_or_admin
from analytics.views.sentiment import sentiment_settings_context
from billing.gating import refuse_writes_when_read_only
from gocsm import product_events


@owner_or_admin
@refuse_writes_when_read_only
def score_settings(request):
    agency = request.agency
    weights, bands = settings_for(agency.pk)
    errors = []
    if request.method == "POST":
        raw_w = {c: request.POST.get(f"w_{c}", "") for c in scores.COMPONENTS}
        raw_b = {b: request.POST.get(f"b_{b}", "") for b in ("thriving", "healthy", "steady")}
        try:
            new_w = scores.validate_weights(raw_w)
            new_b = scores.validate_bands(raw_b)
        except ValueError as exc:
            errors.append(str(exc))
            weights, bands = raw_w, raw_b
        else:
            if (new_w, new_b) != (weights, bands):
                today = agency_today(agency)
                with transaction.atomic(using="analytics"):
                    ScoreSettings.objects.for_agency(agency.pk).update_or_create(
                        agency_id=agency.pk,
                        defaults={
                            "weights": new_w,
                            "bands": new_b,
                            "updated_at": dj_tz.now(),
                            "updated_by": request.ghl_user.ghl_id,
                        },
                    )
                    WeightChange.objects.create(
                        agency_id=agency.pk,
                        day=today,
                        changed_by=request.ghl_user.name,
                        old={"weights": weights, "bands": bands},
                        new={"weights": new_w, "bands": new_b},
                    )
                audit.record(
                    "analytics.weights_changed",
                    agency=agency,
                    actor_type="ghl_user",
                    actor_id=request.ghl_user.ghl_id,
                    request=request,
                    detail={"weights": new_w, "bands": new_b},
                )
                product_events.capture(
                    request,
                    product_events.SETTINGS_CHANGED,
                    {"url_name": "analytics:settings", "setting": "score_weights"},
                )
                # Scores from the change day on use the new weights; history before the marker
                # keeps the weights it was computed with.
                refresh_analytics_for_days.delay(agency.pk, today.isoformat(), today.isoformat())
            return redirect("analytics:settings")
    history = list(WeightChange.objects.for_agency(agency.pk).order_by("-at")[:20])
    return render(
        request,
        "analytics/settings.html",
        {
            "rows": [
                (c, scores.COMPONENT_LABELS[c], weights.get(c), scores.DEFAULT_WEIGHTS[c])
                for c in scores.COMPONENTS
            ],
            "bands": [
                (b, scores.BAND_LABELS[b], bands.get(b), scores.DEFAULT_BANDS[b])
                for b in ("thriving", "healthy", "steady")
            ],
            "errors": errors,
            "history": history,
            "score_doc": scores.DEFINITIONS,
            "segments_doc": segments.DEFINITIONS,
            **sentiment_settings_context(request),
        },
        status=400 if errors else 200,
    )
