"""OAuth install through the fake GHL: state, code exchange, encrypted tokens, failures."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.models import Agency, AuditEvent
from sync.models import Installation, SyncRun
from sync.scopes import SCOPES
from tests.sync.conftest import follow_install


def test_install_redirects_to_chooselocation_with_our_app_and_read_scopes(client, fake_ghl):
    response = client.get("/oauth/install/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}" == fake_ghl.base_url
    assert url.path == "/v2/oauth/chooselocation"
    query = parse_qs(url.query)
    assert query["client_id"] == [fake_ghl.client_id]
    assert query["redirect_uri"] == ["http://testserver/oauth/callback/"]
    assert query["response_type"] == ["code"]
    assert query["scope"][0].split() == list(SCOPES)
    assert all(s.endswith((".readonly", ".read")) or s == "oauth.write" for s in SCOPES)
    assert query["state"][0]


def test_full_install_creates_agency_with_encrypted_tokens(client, fake_ghl, db):
    response, _ = follow_install(client, fake_ghl)
    assert response.status_code == 302
    assert response["Location"] == "/oauth/installed/"
    company_id = fake_ghl.company_ids[0]
    agency = Agency.objects.get(company_id=company_id)
    assert agency.is_installed
    assert not agency.needs_reauth
    assert agency.name == "BrightPath Agency"
    assert agency.whitelabel_domain == "app.brightpathagency.example"
    assert agency.timezone == fake_ghl.world.agency(company_id).timezone
    inst = Installation.objects.get(agency=agency)
    token_call = fake_ghl.requests("/oauth/token")[0]
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    issued = [t for t, info in fake_ghl.state.access.items() if info.company_id == company_id]
    assert issued
    assert all(t not in inst.access_token for t in issued)
    assert inst.access_token.startswith("gAAAAA")
    assert inst.refresh_token.startswith("gAAAAA")
    from sync import tokens

    assert tokens.decrypt(inst.access_token) in issued
    assert AuditEvent.objects.filter(agency=agency, action="install").exists()
    assert SyncRun.objects.for_agency(agency).filter(reason="install").count() == 1
    assert client.get("/oauth/installed/").status_code == 200


def test_reinstall_reactivates_an_uninstalled_agency(client, fake_ghl, make_agency):
    agency = make_agency(company_id=fake_ghl.company_ids[0], is_installed=False, needs_reauth=True)
    follow_install(client, fake_ghl)
    agency.refresh_from_db()
    assert agency.is_installed
    assert not agency.needs_reauth
    assert agency.uninstalled_at is None


def _assert_nothing_stored():
    assert not Agency.objects.exists()
    assert not Installation.objects.exists()


def test_state_cannot_be_reused(client, fake_ghl, db):
    response, back = follow_install(client, fake_ghl)
    assert response.status_code == 302
    Installation.objects.all().delete()
    Agency.objects.all().delete()
    again = client.get(back.removeprefix("http://testserver"))
    assert again.status_code == 400
    assert b"already used" in again.content
    _assert_nothing_stored()


@pytest.mark.parametrize("state", ["", "forged", "eyJuIjoiYWJjIn0:1tXyZ:bad-signature"])
def test_missing_or_forged_state_is_refused(client, fake_ghl, db, state):
    code = fake_ghl.state.issue_code(
        fake_ghl.client_id, fake_ghl.company_ids[0], "http://testserver/oauth/callback/", "x", "U1"
    )
    response = client.get("/oauth/callback/", {"code": code, "state": state})
    assert response.status_code == 400
    assert not fake_ghl.requests("/oauth/token")
    _assert_nothing_stored()


def test_state_signed_with_our_key_but_never_issued_is_refused(client, fake_ghl, db):
    from django.core import signing

    state = signing.dumps({"n": "never-issued", "c": ""}, salt="sync.oauth.state")
    response = client.get("/oauth/callback/", {"code": "x", "state": state})
    assert response.status_code == 400
    _assert_nothing_stored()


def test_consent_error_from_ghl_gives_400(client, fake_ghl, db):
    fake_ghl.add_fault("consent_error", count=1)
    response, _ = follow_install(client, fake_ghl)
    assert response.status_code == 400
    _assert_nothing_stored()


def test_failed_code_exchange_gives_400_and_stores_nothing(client, fake_ghl, db):
    first = client.get("/oauth/install/")
    state = parse_qs(urlsplit(first["Location"]).query)["state"][0]
    response = client.get("/oauth/callback/", {"code": "not-a-code", "state": state})
    assert response.status_code == 400
    _assert_nothing_stored()


def test_ghl_error_while_reading_the_company_gives_400(client, fake_ghl, db, settings):
    settings.GHL_RETRY_MAX_ATTEMPTS = 2
    fake_ghl.add_fault("5xx", path="/companies")
    response, _ = follow_install(client, fake_ghl)
    assert response.status_code == 400
    _assert_nothing_stored()


def test_a_different_company_than_expected_is_refused(client, fake_ghl, personas, login):
    owner = personas["owner_a"]
    login(owner)
    fake_ghl.consent_as(fake_ghl.company_ids[1])  # GHL hands back another agency
    response, _ = follow_install(client, fake_ghl)
    assert response.status_code == 400
    assert b"different agency" in response.content
    assert not Installation.objects.exists()
    assert not Agency.objects.filter(company_id=fake_ghl.company_ids[1]).exists()


def test_agency_user_who_is_not_admin_cannot_start_install(client, fake_ghl, personas, login):
    login(personas["user_a"])
    assert client.get("/oauth/install/").status_code == 403


def test_install_gives_the_agency_its_premium_tag_once(client, fake_ghl, db):
    from accounts.models import Tag

    follow_install(client, fake_ghl)
    follow_install(Client(), fake_ghl)  # a reinstall adds no second one
    agency = Agency.objects.get(company_id=fake_ghl.company_ids[0])
    tags = list(Tag.objects.for_agency(agency).values_list("name", "builtin"))
    assert tags == [("premium", "premium")]
