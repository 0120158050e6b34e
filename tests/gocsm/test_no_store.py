"""Every response behind the authentication guard carries `Cache-Control: no-store`: pages,
/auth/me/, CSV exports, errors, the guard's own refusals. Checked over the whole URL sweep."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.cache import get_max_age

from tests.gocsm.test_url_guard import ROUTES, all_public_routes


def no_store(response) -> bool:
    directives = {
        d.strip().split("=")[0].lower() for d in response.get("Cache-Control", "").split(",")
    }
    return "no-store" in directives


def guarded_routes():
    public = all_public_routes()
    return [(name, url) for name, url in ROUTES if name not in public]


@pytest.mark.django_db
def test_every_guarded_route_answers_a_signed_in_person_with_no_store(personas, login):
    checked = 0
    for name, url in guarded_routes():
        if name.startswith("admin:"):
            continue  # staff only: see the admin test below
        for accept in ("text/html", "application/json"):
            # A fresh session each time: one of the routes is logout.
            client = login(personas["owner_a"], Client())
            for response in (
                client.get(url, HTTP_ACCEPT=accept),
                client.post(url, HTTP_ACCEPT=accept),
            ):
                assert response.status_code != 401, f"{name} ({url}) was not reached signed in"
                assert no_store(response), f"{name} ({url}) {response.status_code} is cacheable"
                assert get_max_age(response) in (None, 0)
                checked += 1
    assert checked > 40


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/auth/me/", "/app/?format=csv", "/app/at-risk/?format=csv"])
def test_identity_and_csv_exports_are_not_stored(personas, login, url):
    response = login(personas["owner_a"]).get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert no_store(response)


@pytest.mark.django_db
def test_the_guards_refusals_are_not_stored_either(client):
    for name, url in guarded_routes():
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert no_store(response), f"{name} ({url}) {response.status_code} is cacheable"


@pytest.mark.django_db
def test_admin_pages_are_not_stored(admin_client):
    for path in ("/admin/", "/admin/accounts/agency/", "/admin/login/"):
        assert no_store(admin_client.get(path)), path


@pytest.mark.django_db
def test_public_assets_keep_their_own_caching(client):
    tracker = client.get("/t/tracker.js")
    assert tracker.status_code == 200
    assert not no_store(tracker)
    assert get_max_age(tracker) > 0
