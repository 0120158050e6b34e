"""The status area's two endpoints: the JSON its script polls while an import runs, and the
owner's or admin's "Re-sync now" button."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from billing.gating import refuse_writes_when_read_only
from gocsm.errors import error_response
from sync import resync, status


@never_cache
@require_GET
def status_json(request):
    """The signed-in agency's status (the guard has made sure someone is signed in; the agency is
    theirs, from the session). Sub-account users get no portfolio-wide counts."""
    current = status.for_request(request)
    if current is None:
        return error_response(request, 503)
    return JsonResponse(current.as_json())


REFUSALS = {
    resync.TOO_SOON: (429, "A re-sync was started a few minutes ago. Please wait before the next."),
    resync.BUSY: (409, "GoCSM is already updating your figures; the progress shows on every page."),
    resync.NOT_CONNECTED: (
        409,
        "GoCSM is not connected to GoHighLevel: reconnect it first, then figures update again.",
    ),
    resync.UNAVAILABLE: (503, "The re-sync could not be started. Please try again in a minute."),
}


def _back(request) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("analytics:overview")


@require_POST
@refuse_writes_when_read_only
def resync_now(request):
    user, agency = request.ghl_user, request.agency
    if not user.is_owner_or_admin:
        audit.record(
            "sync.resync",
            agency=agency,
            actor_type="ghl_user",
            actor_id=user.ghl_id,
            target=agency.company_id,
            outcome="denied",
            request=request,
            detail={"result": "not_owner_or_admin"},
        )
        return error_response(request, 403, "Only an agency owner or admin can start a re-sync.")
    outcome = resync.start(agency, user, request)
    if outcome in REFUSALS:
        code, message = REFUSALS[outcome]
        response = error_response(request, code, message)
        if code == 429:
            response["Retry-After"] = str(settings.SYNC_RESYNC_MIN_INTERVAL_SECONDS)
        return response
    return HttpResponseRedirect(_back(request), status=303)
