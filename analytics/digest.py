"""The weekly digest: last week's alerts and the top at-risk sub-accounts, to owners and admins."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from accounts.models import Agency, GHLUser, Location
from analytics.agencyclock import agency_today
from analytics.models import Alert
from analytics.portfolio import at_risk_rows

log = logging.getLogger(__name__)


def send_digest(agency: Agency) -> int:
    """Email the agency's owners and admins. Returns the number of recipients (0: nothing sent)."""
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
    names = dict(Location.objects.for_agency(agency).values_list("ghl_id", "name"))
    alerts = list(
        Alert.objects.for_agency(agency.pk)
        .filter(day__range=(today - timedelta(days=7), today))
        .order_by("-day", "location_ghl_id")[:50]
    )
    for a in alerts:
        a.location_name = names.get(a.location_ghl_id, a.location_ghl_id)
    context = {
        "agency": agency,
        "today": today,
        "alerts": alerts,
        "at_risk": at_risk_rows(agency, None)[:10],
        "base_url": settings.PUBLIC_ORIGIN,
    }
    text = render_to_string("analytics/email/digest.txt", context)
    html = render_to_string("analytics/email/digest.html", context)
    message = EmailMultiAlternatives(
        subject=f"GoCSM weekly digest: {agency.name or agency.company_id}",
        body=text,
        from_email=settings.DIGEST_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    log.info("digest sent", extra={"agency_id": agency.pk, "recipients": len(recipients)})
    return len(recipients)
