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
