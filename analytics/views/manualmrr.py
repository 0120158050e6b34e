"""Manual MRR for sub-accounts billed outside GHL SaaS: one entry from the sub-account page, or
many from a CSV upload on the revenue page (owner/admin only; analytics.manualmrr writes)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.visibility import location_for_request
from analytics import manualmrr
from analytics.agencyclock import agency_today
from analytics.tasks import refresh_analytics_for_days
from analytics.views.common import owner_or_admin
from billing.gating import refuse_writes_when_read_only


class ManualMRRForm(forms.Form):
    mrr = forms.CharField(required=False, max_length=20)
    currency = forms.CharField(required=False, max_length=3)
    since = forms.DateField(required=False)

    def clean_mrr(self):
        try:
            return manualmrr.parse_amount(self.cleaned_data["mrr"])
        except manualmrr.InvalidEntry as exc:
            raise forms.ValidationError(str(exc)) from exc


class ManualMRRUploadForm(forms.Form):
    file = forms.FileField()


def _recompute(agency, earliest) -> None:
    """Recompute from the first day the entries change (all of history for 'from the start')."""
    today = agency_today(agency)
    first = earliest if earliest is not None else today.replace(year=today.year - 3)
    refresh_analytics_for_days.delay(agency.pk, first.isoformat(), today.isoformat())


def _say_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field}: "
        for error in errors:
            messages.error(request, f"{label}{error}")


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def set_location_mrr(request, ghl_id: str):
    location = location_for_request(request, ghl_id)
    form = ManualMRRForm(request.POST)
    back = redirect("analytics:location-detail", ghl_id=location.ghl_id)
    if not form.is_valid():
        _say_errors(request, form)
        return back
    entry = manualmrr.Entry(
        location.ghl_id,
        form.cleaned_data["mrr"],
        form.cleaned_data["currency"],
        form.cleaned_data["since"],
    )
    try:
        entry = manualmrr.check_entry(request.agency, entry, agency_today(request.agency))
    except manualmrr.InvalidEntry as exc:
        messages.error(request, str(exc))
        return back
    earliest = manualmrr.save_entries(
        request.agency, [entry], user=request.ghl_user, via="form", request=request
    )
    _recompute(request.agency, earliest)
    messages.success(request, "Manual MRR saved; the figures are being recomputed.")
    return back


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def upload_mrr(request):
    form = ManualMRRUploadForm(request.POST, request.FILES)
    back = redirect("analytics:revenue")
    if not form.is_valid():
        _say_errors(request, form)
        return back
    try:
        entries = manualmrr.parse_upload(request.agency, form.cleaned_data["file"].read())
    except manualmrr.InvalidEntry as exc:
        messages.error(request, str(exc))
        return back
    earliest = manualmrr.save_entries(
        request.agency, entries, user=request.ghl_user, via="csv", request=request
    )
    _recompute(request.agency, earliest)
    messages.success(
        request, f"Manual MRR saved for {len(entries)} sub-accounts; figures are being recomputed."
    )
    return back
