import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import WeightChange

PAGES = [
    "analytics:overview",
    "analytics:at-risk",
    "analytics:adoption",
    "analytics:logins",
    "analytics:revenue",
]


@pytest.mark.parametrize("name", PAGES)
def test_owner_sees_each_dashboard_page(personas, login, portfolio, name):
    portfolio(personas["agency_a"], 3)
    client = login(personas["owner_a"])
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"Sub 000" in response.content or name == "analytics:revenue"
    assert b"style=" not in response.content
    assert b"<script>" not in response.content


def test_overview_is_where_sso_lands(personas, login):
    assert reverse("analytics:overview") == "/app/"
    assert login(personas["owner_a"]).get("/app/").status_code == 200


def test_anonymous_gets_401(client):
    assert client.get("/app/").status_code == 401


def test_outsider_gets_404_on_another_agencys_sub_account(personas, login, portfolio):
    portfolio(personas["agency_a"], 2)
    url = reverse("analytics:location-detail", args=["Loc0001"])
    assert login(personas["owner_a"]).get(url).status_code == 200
    from django.test import Client

    outsider = login(personas["owner_b"], test_client=Client())
    assert outsider.get(url).status_code == 404
    assert b"Sub 0001" not in outsider.get("/app/").content


def test_location_user_sees_only_their_sub_account(personas, login, portfolio, make_user):
    portfolio(personas["agency_a"], 3)
    person = make_user(personas["agency_a"], role="location")
    client = login(person, location_ids=["Loc0002"])
    body = client.get("/app/", follow=True).content  # lands on its page (test_landing.py)
    assert b"Sub 0002" in body
    assert b"Sub 0001" not in body
    assert client.get(reverse("analytics:location-detail", args=["Loc0001"])).status_code == 404


def test_agency_user_gets_403_on_settings(personas, login):
    assert login(personas["user_a"]).get(reverse("analytics:settings")).status_code == 403


def test_owner_changes_weights_and_a_marker_is_written(personas, login):
    client = login(personas["owner_a"])
    form = {
        "w_login_activity": "40",
        "w_adoption": "20",
        "w_engagement": "20",
        "w_revenue": "10",
        "w_growth": "10",
        "w_sentiment": "25",
        "b_thriving": "80",
        "b_healthy": "55",
        "b_steady": "30",
    }
    assert client.post(reverse("analytics:settings"), form).status_code == 302
    marker = WeightChange.objects.for_agency(personas["agency_a"].pk).get()
    assert marker.new["weights"]["login_activity"] == 40


def test_bad_weights_are_refused_and_change_nothing(personas, login):
    client = login(personas["owner_a"])
    response = client.post(reverse("analytics:settings"), {"w_login_activity": "abc"})
    assert response.status_code == 400
    assert not WeightChange.objects.for_agency(personas["agency_a"].pk).exists()


@pytest.mark.parametrize(
    "query",
    ["sort=drop%20table", "band=purple", "page=0", "page=999", "flag=x", "format=xls", "page=abc"],
)
def test_bad_parameters_get_400(personas, login, portfolio, query):
    portfolio(personas["agency_a"], 2)
    assert login(personas["owner_a"]).get(f"/app/?{query}").status_code == 400


def test_csv_export_neutralises_formulas(personas, login):
    from accounts.models import Location

    Location.objects.create(agency=personas["agency_a"], ghl_id="LocEvil", name="=HYPERLINK(1)")
    body = login(personas["owner_a"]).get("/app/?format=csv").content.decode()
    assert "'=HYPERLINK(1)" in body
    assert "\n=HYPERLINK" not in body


def _queries(client, url):
    with (
        CaptureQueriesContext(connections["default"]) as d,
        CaptureQueriesContext(connections["analytics"]) as a,
    ):
        assert client.get(url).status_code == 200
    return len(d.captured_queries) + len(a.captured_queries)


@pytest.mark.parametrize("name", [*PAGES, "analytics:settings"])
def test_query_count_does_not_grow_with_sub_accounts(make_agency, make_user, login, name):
    from django.test import Client

    counts = []
    for n in (10, 200):
        agency = make_agency()
        owner = make_user(agency, role="owner")
        from tests.analytics.conftest import build_portfolio

        build_portfolio(agency, n, days=3)
        client = login(owner, test_client=Client())
        _queries(client, reverse(name))
        counts.append(_queries(client, reverse(name)))
    assert counts[0] == counts[1]


def test_detail_query_count_does_not_grow(make_agency, make_user, login):
    from django.test import Client

    from tests.analytics.conftest import build_portfolio

    counts = []
    for n in (10, 200):
        agency = make_agency()
        owner = make_user(agency, role="owner")
        build_portfolio(agency, n, days=3)
        client = login(owner, test_client=Client())
        url = reverse("analytics:location-detail", args=["Loc0003"])
        counts.append(_queries(client, url))
    assert counts[0] == counts[1]


def test_filters_keep_what_was_chosen(personas, login, portfolio):
    portfolio(personas["agency_a"], 3)
    html = login(personas["owner_a"]).get("/app/?band=at_risk&flag=payment_failed").content.decode()
    assert '<option value="at_risk" selected>' in html
    assert '<option value="payment_failed" selected>' in html
    assert html.count(" selected>") == 2
