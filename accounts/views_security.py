"""The Security page: an agency's owners and admins read their own audit trail (last 90 days)."""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import AuditEvent, GHLUser
from gocsm.errors import error_response

WINDOW_DAYS = 90
PAGE_SIZE = 50

# Plain-language names for the events an agency sees; anything else shows its code.
ACTION_LABELS = {
    "sso.sign_in": "Signed in",
    "sso.failed": "Failed sign-in",
    "sso.sign_out": "Signed out",
    "install": "App installed",
    "uninstall": "App uninstalled",
    "install.location": "App installed in a sub-account",
    "uninstall.location": "App removed from a sub-account",
    "token.refresh_failed": "GHL connection refresh failed",
    "token.recovered": "GHL connection kept after an interrupted refresh",
    "reauth_needed": "GHL re-authorisation needed",
    "sync.resync": "Re-sync started",
    "plan_change": "GoCSM plan changed in the GHL Marketplace",
    "billing.plan_changed": "Plan changed",
    "billing.status_changed": "Billing status changed",
    "analytics.weights_changed": "Health score settings changed",
    "analytics.manual_mrr_set": "MRR entered by hand",
    "analytics.nps_prompt_switched": "NPS prompt switched on or off",
    "analytics.nps_interval_changed": "NPS prompt interval changed",
    "playbooks.play_switched_on": "Play switched on",
    "playbooks.play_switched_off": "Play switched off",
    "playbooks.play_saved": "Play saved",
    "playbooks.play_secret_rotated": "Play's signing secret renewed",
    "tags.created": "Tag created",
    "tags.renamed": "Tag renamed",
    "tags.deleted": "Tag deleted",
    "tags.applied": "Tag put on sub-accounts",
    "tags.removed": "Tag taken off sub-accounts",
    "csm.assigned": "CSM assigned to sub-accounts",
    "csm.unassigned": "CSM removed from sub-accounts",
    "admin.add": "Added by GoCSM support",
    "admin.change": "Changed by GoCSM support",
    "admin.delete": "Deleted by GoCSM support",
    "admin.resync": "Re-sync started by GoCSM support",
}


def _actor_names(events, agency) -> dict[str, str]:
    ids = {e.actor_id for e in events if e.actor_type == AuditEvent.ACTOR_GHL and e.actor_id}
    if not ids:
        return {}
    people = GHLUser.objects.for_agency(agency).filter(ghl_id__in=ids).values_list("ghl_id", "name")
    return dict(people)


@require_GET
def security(request):
    user = request.ghl_user
    if not user.is_owner_or_admin:
        return error_response(request, 403, "Only agency owners and admins can see this page.")
    since = timezone.now() - timedelta(days=WINDOW_DAYS)
    events = AuditEvent.objects.filter(agency=request.agency, at__gte=since).order_by("-at", "-pk")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    names = _actor_names(page.object_list, request.agency)
    rows = []
    for e in page.object_list:
        if e.actor_type == AuditEvent.ACTOR_STAFF:
            actor = "GoCSM staff"
        elif e.actor_type == AuditEvent.ACTOR_GHL:
            actor = names.get(e.actor_id) or e.actor_id or "Unknown user"
        else:
            actor = "GoCSM"
        rows.append(
            {
                "at": e.at,
                "action": ACTION_LABELS.get(e.action, e.action),
                "actor": actor,
                "outcome": e.outcome,
                # Staff addresses are ours to keep private; the agency's own people's are theirs.
                "ip": e.ip if e.actor_type == AuditEvent.ACTOR_GHL else "",
                "request_id": e.request_id,
            }
        )
    return render(
        request,
        "accounts/security.html",
        {"page": page, "rows": rows, "window_days": WINDOW_DAYS},
    )
