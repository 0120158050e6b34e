"""The weekly digest: last week's alerts and the top at-risk sub-accounts, to owners and admins.

One email per owner/admin (nobody sees another's address). Agencies whose plan does not include
digests (billing.plans Features.digest_emails), or with nothing to report this week, get none.
Only sub-account names, scores, flags and MRR appear: no end-customer data exists to include.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string

from accounts.models import Agency, GHLUser, Location
from analytics import alertorder
from analytics.agencyclock import agency_today
from analytics.models import Alert
from analytics.portfolio import at_risk_rows, scope_for_agency

log = logging.getLogger(__name__)


def send_digest(agency: Agency) -> int:
    """Email the agency's owners and admins. Returns the number of emails sent (0: none)."""
    from billing.gating import access_for

    if not access_for(agency).features.digest_emails:
        log.info("digest skipped: not in plan", extra={"agency_id": agency.pk})
        return 0
    recipients = sorted(
        set(
            GHLUser.objects.for_agency(agency)
            .filter(role__in=(GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN), deleted=False)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients:
        return 0
    today = agency_today(agency)
    scope = scope_for_agency(agency)
    names = dict(Location.objects.for_agency(agency).values_list("ghl_id", "name"))
    # Only the sub-accounts the plan analyses, like the dashboards.
    alerts = list(
        alertorder.ranked(
            scope.covered(
                Alert.objects.for_agency(agency.pk).filter(
                    day__range=(today - timedelta(days=6), today)
                )
            )
        )[:50]
    )
    for a in alerts:
        a.location_name = names.get(a.location_ghl_id, a.location_ghl_id)
    at_risk = at_risk_rows(scope)[:10]
    if not alerts and not at_risk:
        return 0
    context = {
        "agency": agency,
        "today": today,
        "alerts": alerts,
        "at_risk": at_risk,
        "base_url": settings.PUBLIC_ORIGIN,
    }
    text = render_to_string("analytics/email/digest.txt", context)
    html = render_to_string("analytics/email/digest.html", context)
    messages = []
    for to in recipients:
        message = EmailMultiAlternatives(
            subject=f"GoCSM weekly digest: {agency.name or agency.company_id}",
            body=text,
            from_email=settings.DIGEST_FROM_EMAIL,
            to=[to],
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    sent = mailers.default.send_messages(messages) or 0
    log.info("digest sent", extra={"agency_id": agency.pk, "recipients": sent})
    return sent
