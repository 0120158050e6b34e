"""The development GHL shell exists only with DEV_TOOLS."""

from __future__ import annotations

import json
import re

import pytest

from accounts.sso import decrypt_payload
from tests.accounts.conftest import SECRET

pytestmark = pytest.mark.django_db


def test_shell_is_404_without_dev_tools(client, settings, personas):
    settings.DEV_TOOLS = False
    assert client.get("/dev/ghl-shell/").status_code == 404
    assert client.get(f"/dev/ghl-shell/?user={personas['owner_a'].pk}").status_code == 404


def test_shell_lists_people_of_installed_agencies(
    client, settings, personas, make_agency, make_user
):
    settings.DEV_TOOLS = True
    gone = make_agency(name="Gone Agency", is_installed=False)
    make_user(gone, name="Ghost Person")
    html = client.get("/dev/ghl-shell/").content.decode()
    assert personas["owner_a"].name in html
    assert personas["owner_b"].name in html
    assert "Ghost Person" not in html


def test_shell_answers_with_a_payload_that_decrypts_to_the_chosen_person(
    client, settings, personas
):
    settings.DEV_TOOLS = True
    settings.DEV_APP_ORIGIN = "http://localhost:8123"
    owner = personas["owner_a"]
    response = client.get(f"/dev/ghl-shell/?user={owner.pk}")
    html = response.content.decode()
    config = json.loads(
        re.search(r'id="shell-config" type="application/json">(.*?)<', html).group(1)
    )
    identity = decrypt_payload(config["payload"], SECRET)
    assert identity.user_id == owner.ghl_id
    assert identity.company_id == personas["agency_a"].company_id
    assert identity.is_agency_owner is True
    assert config["appUrl"] == "http://localhost:8123/"
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self' http://localhost:8123" in policy
    assert 'src="http://localhost:8123/"' in html


def test_shell_payload_signs_the_person_in(client, settings, personas, sso_post):
    settings.DEV_TOOLS = True
    html = client.get(f"/dev/ghl-shell/?user={personas['user_a'].pk}").content.decode()
    config = json.loads(
        re.search(r'id="shell-config" type="application/json">(.*?)<', html).group(1)
    )
    assert sso_post(config["payload"]).status_code == 200
    assert client.get("/auth/me/", HTTP_ACCEPT="application/json").json()["role"] == "user"


def _config(html: str) -> dict:
    return json.loads(re.search(r'id="shell-config" type="application/json">(.*?)<', html).group(1))


def test_shell_opens_as_the_first_agencys_owner_without_picking(client, settings, personas):
    settings.DEV_TOOLS = True
    html = client.get("/dev/ghl-shell/").content.decode()
    identity = decrypt_payload(_config(html)["payload"], SECRET)
    assert identity.user_id == personas["owner_a"].ghl_id
    assert identity.is_agency_owner is True
    assert 'id="gocsm-frame"' in html
    assert f'<option value="{personas["owner_a"].pk}" selected>' in html


def test_picker_labels_each_person_with_role_and_sub_account(client, settings, personas, make_user):
    from accounts.models import Location

    settings.DEV_TOOLS = True
    agency = personas["agency_a"]
    Location.objects.create(agency=agency, ghl_id="LocAlvarez57", name="Alvarez Fitness 57")
    make_user(
        agency,
        name="Chloe Alvarez",
        role="location",
        ghl_type="account",
        location_ids=["LocAlvarez57"],
    )
    make_user(agency, name="Marco Okafor", role="admin", ghl_role="admin")
    make_user(agency, name="Lena Castellano", restrict_sub_account=True, location_ids=["a", "b"])
    html = client.get("/dev/ghl-shell/").content.decode()
    owner = personas["owner_a"].name
    assert f"{owner} — Agency owner" in html
    assert "Marco Okafor — Agency admin" in html
    assert "Lena Castellano — Agency user, 2 sub-accounts only" in html
    assert "Chloe Alvarez — Sub-account user, Alvarez Fitness 57" in html
    # Owners first, then admins, agency users and sub-account users, agency by agency.
    assert html.index(f"{owner} — ") < html.index("Marco Okafor") < html.index("Lena Castellano")
    assert html.index("Lena Castellano") < html.index("Chloe Alvarez")
    assert '<optgroup label="BrightPath Agency">' in html


def test_the_installer_is_the_owner_when_none_is_known_yet(
    client, settings, make_agency, make_user, sso_post
):
    """After an install nobody has signed in yet: GHL's owner is the admin who installed."""
    from accounts.models import GHLUser
    from sync.models import Installation

    settings.DEV_TOOLS = True
    agency = make_agency(name="Fresh Install Agency")
    make_user(agency, name="Marco Okafor", role="admin", ghl_role="admin")
    dana = make_user(agency, name="Dana Whitfield", role="admin", ghl_role="admin")
    Installation.objects.create(
        agency=agency, company_id=agency.company_id, installer_user_id=dana.ghl_id
    )
    html = client.get("/dev/ghl-shell/").content.decode()
    assert "Dana Whitfield — Agency owner" in html
    assert "Marco Okafor — Agency admin" in html
    payload = _config(html)["payload"]
    assert decrypt_payload(payload, SECRET).user_id == dana.ghl_id
    assert sso_post(payload).status_code == 200
    dana.refresh_from_db()
    assert dana.role == GHLUser.ROLE_OWNER


def test_shell_shows_none_of_the_app_chrome_to_a_signed_in_browser(settings, personas, login):
    # The shell plays GHL's page; a browser already signed in to the app (same site in `make
    # run`) saw GoCSM's header and menu twice, once outside the frame.
    settings.DEV_TOOLS = True
    client = login(personas["owner_a"])
    assert 'class="mainnav"' in client.get("/app/").content.decode()
    html = client.get("/dev/ghl-shell/").content.decode()
    assert 'class="mainnav"' not in html
    assert 'class="topbar"' not in html
    assert 'id="gocsm-frame"' in html
