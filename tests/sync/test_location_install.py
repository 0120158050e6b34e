"""A sub-account installing the app (a location INSTALL webhook) gets its location token minted
at once, ahead of the first pull that needs it (sync.tasks.warm_location_token)."""

from __future__ import annotations

from urllib.parse import parse_qs

from accounts.models import Location
from tests.sync.webhook_signing import Signer, compact, event


def test_a_sub_account_install_mints_its_location_token_at_once(
    client, settings, installed, fake_ghl
):
    signer = Signer()
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = signer.ed_pem
    location_id = fake_ghl.world.locations(installed.company_id, fake_ghl.today())[0].id
    body = compact(
        event(
            "INSTALL", settings.GHL_APP_ID, companyId=installed.company_id, locationId=location_id
        )
    )

    response = client.generic(
        "POST",
        "/webhooks/ghl/",
        body,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=signer.ed_sign(body),
    )

    assert response.status_code == 200
    assert Location.objects.for_agency(installed).get(ghl_id=location_id).is_installed
    minted = fake_ghl.requests("/oauth/locationToken")
    assert [parse_qs(r.body.decode())["locationId"] for r in minted] == [[location_id]]
