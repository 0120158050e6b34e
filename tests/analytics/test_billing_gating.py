"""Dashboards follow billing: read-only history with a banner, no writes, exports per plan."""

import pytest

from billing.accounts import account_for
from billing.models import BillingAccount


def make_read_only(agency):
    account = account_for(agency)
    account.status = BillingAccount.CANCELED
    account.save()


@pytest.mark.django_db
def test_canceled_agency_sees_its_history_with_a_banner_linking_owners_to_billing(
    personas, login, client
):
    make_read_only(personas["agency_a"])
    login(personas["owner_a"])
    response = client.get("/app/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Dashboards are read-only" in body
    assert 'href="/billing/"' in body


@pytest.mark.django_db
def test_read_only_banner_tells_other_roles_whom_to_ask(personas, login, client):
    make_read_only(personas["agency_a"])
    login(personas["user_a"])
    body = client.get("/app/").content.decode()
    assert "Dashboards are read-only" in body
    assert "Ask " in body
    assert "Open Billing" not in body


@pytest.mark.django_db
def test_read_only_agency_cannot_change_score_settings(personas, login, client):
    from analytics.models import WeightChange

    make_read_only(personas["agency_a"])
    login(personas["owner_a"])
    response = client.post(
        "/app/settings/",
        {
            "w_login": "40",
            "w_adoption": "20",
            "w_engagement": "20",
            "w_revenue": "10",
            "w_growth": "10",
        },
    )
    assert response.status_code == 402
    assert not WeightChange.objects.for_agency(personas["agency_a"]).exists()


@pytest.mark.django_db
def test_csv_export_outside_the_plan_is_refused_with_402(personas, login, client):
    make_read_only(personas["agency_a"])  # read-only unlocks no features
    login(personas["owner_a"])
    assert client.get("/app/?format=csv").status_code == 402


@pytest.mark.django_db
def test_trial_agency_can_export_csv(personas, login, client):
    login(personas["owner_a"])
    response = client.get("/app/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
