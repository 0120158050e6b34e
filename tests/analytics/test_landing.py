"""Where a signed-in person lands (/app/, SSO's `next`): a sub-account's own person who may see
one sub-account lands on its page, not on a portfolio of one row; the agency's people, and
anyone allowed several sub-accounts, land on the overview. The menu's "Overview" leads to the
same place and the sub-account page offers no way back to a portfolio that only leads to it."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from accounts.views.sso import DASHBOARD_URL

BACK = "\u2039 Portfolio"  # the sub-account page's link back to the overview


def _nav(body: str) -> dict[str, str]:
    """The main menu's links, label -> URL."""
    menu = re.search(r'<nav class="mainnav".*?</nav>', body, re.S).group(0)
    return {
        label: url.replace("&amp;", "&")
        for url, label in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', menu)
    }


def test_a_sub_accounts_own_person_lands_on_their_sub_account(
    personas, login, portfolio, make_user
):
    portfolio(personas["agency_a"], 3)
    person = make_user(personas["agency_a"], role="location", ghl_type="account")
    client = login(person, location_ids=["Loc0002"])
    page = reverse("analytics:location-detail", args=["Loc0002"])

    landing = client.get(DASHBOARD_URL)
    assert (landing.status_code, landing["Location"]) == (302, page)
    # Whatever the overview's URL carries: it has no portfolio to narrow or export.
    assert client.get(DASHBOARD_URL, {"sort": "-mrr", "format": "csv"})["Location"] == page

    body = client.get(page).content.decode()
    assert "Sub 0002" in body
    assert _nav(body)["Overview"] == page
    assert 'aria-current="page">Overview<' in body
    assert BACK not in body
    # Another sub-account is still out of reach.
    assert client.get(reverse("analytics:location-detail", args=["Loc0001"])).status_code == 404


def test_the_agencys_people_and_anyone_allowed_several_keep_the_overview(
    personas, login, portfolio, make_user
):
    agency = personas["agency_a"]
    portfolio(agency, 3)
    restricted = make_user(agency, role="user", restrict_sub_account=True, location_ids=["Loc0002"])
    several = make_user(agency, role="location", ghl_type="account")
    people = [
        (personas["owner_a"], None),
        (personas["user_a"], None),
        (restricted, ["Loc0002"]),  # agency staff GHL restricts to one sub-account
        (several, ["Loc0001", "Loc0002"]),
    ]
    for person, allowed in people:
        client = login(person, test_client=Client(), location_ids=allowed)
        response = client.get(DASHBOARD_URL)
        assert response.status_code == 200, person.role
        body = response.content.decode()
        assert "Sub 0002" in body
        assert _nav(body)["Overview"] == DASHBOARD_URL
        page = client.get(reverse("analytics:location-detail", args=["Loc0002"]))
        assert BACK in page.content.decode()


def test_before_its_first_import_the_sub_accounts_person_sees_the_overview(
    personas, login, make_user
):
    """Its page would be a 404 until GoCSM knows the sub-account: no redirect to it yet."""
    person = make_user(personas["agency_a"], role="location", ghl_type="account")
    client = login(person, location_ids=["LocNotYetImported"])
    response = client.get(DASHBOARD_URL)
    assert response.status_code == 200
    assert _nav(response.content.decode())["Overview"] == DASHBOARD_URL
