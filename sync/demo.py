"""The demo portfolio behind `make run`.

A first, minimal portfolio: one installed agency and its people, so the GHL shell has someone to
sign in as. The pulls work replaces this with a synthetic agency installed through the fake GHL's
real OAuth path and months of simulated history.
"""

from __future__ import annotations

from accounts.models import Agency, GHLUser

DEMO_COMPANY_ID = "DemoBrightPathAgency01"


def build_demo_portfolio(stdout=None) -> str:
    agency, _ = Agency.objects.update_or_create(
        company_id=DEMO_COMPANY_ID,
        defaults={
            "name": "BrightPath Agency (demo)",
            "timezone": "America/Chicago",
            "is_installed": True,
        },
    )
    people = [
        ("DemoOwner0001", "Dana Whitfield", "owner", True),
        ("DemoAdmin0002", "Marcus Ortega", "admin", False),
        ("DemoUser00003", "Priya Raman", "user", False),
    ]
    for ghl_id, name, role, owner in people:
        GHLUser.objects.for_agency(agency).update_or_create(
            agency=agency,
            ghl_id=ghl_id,
            defaults={
                "name": name,
                "email": f"{name.split()[0].lower()}@brightpath.example",
                "role": role,
                "is_agency_owner": owner,
                "ghl_type": "agency",
                "ghl_role": "admin" if role in ("owner", "admin") else "user",
            },
        )
    return f"Demo agency: {agency.name} with {len(people)} people."
