"""A full read of one agency through the client, persisting what the connection persists."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone as dj_tz

from accounts.models import GHLUser, Location
from sync.credentials import client_for_agency


def read_everything(agency, fake) -> int:
    """Every read endpoint for every sub-account; returns how many requests were made."""
    client = client_for_agency(agency)
    client.company()
    list(client.iter_installed_locations())
    for plan in client.agency_plans():
        client.saas_plan(plan.plan_id)
    saas = {s.location_id: s for s in client.iter_saas_locations()}
    for rec in client.iter_users():
        GHLUser.objects.for_agency(agency).update_or_create(
            agency=agency,
            ghl_id=rec.id,
            defaults={
                "name": rec.name,
                "email": rec.email,
                "ghl_type": rec.type,
                "ghl_role": rec.role,
                "location_ids": list(rec.location_ids),
            },
        )
    now = dj_tz.now()
    for loc in client.iter_locations():
        detail = client.get_location(loc.id)
        sub = client.saas_subscription(loc.id) if loc.id in saas else None
        Location.objects.for_agency(agency).update_or_create(
            agency=agency,
            ghl_id=loc.id,
            defaults={
                "name": detail.name,
                "city": detail.city,
                "state": detail.state,
                "country": detail.country,
                "timezone": detail.timezone,
                "saas_plan_id": sub.plan_id if sub else "",
                "subscription_status": sub.subscription_status if sub else "",
            },
        )
        client.workflows(loc.id)
        for cal in client.calendars(loc.id):
            client.appointments(loc.id, cal.id, now - timedelta(days=30), now)
        list(client.iter_products(loc.id))
        client.count_conversations(loc.id, direction="inbound")
        list(client.iter_conversations(loc.id, start=now - timedelta(days=30)))
        list(client.iter_users(loc.id))
    return client.requests_made
