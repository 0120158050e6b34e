"""The billing page, Checkout and the customer portal, against a local fake Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.accounts import account_for
from billing.models import BillingAccount
from tests.billing.conftest import PRICES
from tests.billing.fakestripe import closed_port


@pytest.fixture
def admin_a(personas, make_user):
    return make_user(personas["agency_a"], role="admin", ghl_role="admin")


def snapshot(agency):
    account = account_for(agency)
    return (
        account.stripe_customer_id,
        account.stripe_subscription_id,
        account.plan,
        account.status,
        account.trial_end,
    )


def test_owner_sees_plan_status_and_plans(personas, login, client):
    login(personas["owner_a"])
    response = client.get("/billing/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Free trial" in body
    assert "Choose Growth" in body
    assert "css/billing.css" in body


def test_admin_may_open_billing(admin_a, login, client):
    login(admin_a)
    assert client.get("/billing/").status_code == 200


def test_agency_user_gets_403_everywhere(personas, login, client, fake_stripe):
    login(personas["user_a"])
    assert client.get("/billing/").status_code == 403
    assert client.post("/billing/checkout/", {"plan": "growth"}).status_code == 403
    assert client.post("/billing/portal/").status_code == 403
    assert fake_stripe.requests == []


def test_location_user_gets_403(personas, make_user, login, client):
    login(make_user(personas["agency_a"], role="location", ghl_type="account"))
    assert client.get("/billing/").status_code == 403


def test_anonymous_gets_401(client):
    assert client.get("/billing/").status_code == 401
    assert client.post("/billing/checkout/", {"plan": "growth"}).status_code == 401


def test_new_agency_gets_a_trial_of_trial_days(personas, settings):
    settings.TRIAL_DAYS = 14
    account = account_for(personas["agency_b"])
    agency = personas["agency_b"]
    start = agency.installed_at or agency.created_at
    assert account.status == BillingAccount.TRIALING
    assert account.trial_end == start + timedelta(days=14)
    assert account_for(agency).pk == account.pk


def test_checkout_goes_to_stripe_with_the_plan_price(personas, login, client, fake_stripe):
    login(personas["owner_a"])
    response = client.post("/billing/checkout/", {"plan": "growth"})
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    (call,) = fake_stripe.calls("/v1/checkout/sessions")
    assert call.headers["Authorization"].startswith("Bearer sk_test_")
    assert call.headers["Stripe-Version"] == "2025-09-30.clover"
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert call.form["mode"] == "subscription"
    assert call.form["line_items[0][price]"] == PRICES["growth"]
    assert call.form["client_reference_id"] == str(personas["agency_a"].pk)
    assert call.form["subscription_data[metadata][agency_id]"] == str(personas["agency_a"].pk)
    # The remaining free trial is carried into the subscription.
    assert "subscription_data[trial_end]" in call.form
    assert "customer" not in call.form


def test_checkout_answers_json_for_the_page_script(personas, login, client, fake_stripe):
    login(personas["owner_a"])
    response = client.post(
        "/billing/checkout/", {"plan": "scale"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["url"].startswith("https://checkout.stripe.com/")


def test_checkout_reuses_the_known_customer(personas, login, client, fake_stripe):
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = "cus_Known"
    account.status = BillingAccount.CANCELED
    account.save()
    login(personas["owner_a"])
    client.post("/billing/checkout/", {"plan": "starter"})
    (call,) = fake_stripe.calls("/v1/checkout/sessions")
    assert call.form["customer"] == "cus_Known"


def test_checkout_creates_nothing_locally(personas, login, client, fake_stripe):
    agency = personas["agency_a"]
    before = snapshot(agency)
    login(personas["owner_a"])
    client.post("/billing/checkout/", {"plan": "growth"})
    assert snapshot(agency) == before


@pytest.mark.parametrize("plan", ["", "platinum", "GROWTH"])
def test_unknown_plan_is_a_clear_400(personas, login, client, fake_stripe, plan):
    login(personas["owner_a"])
    response = client.post("/billing/checkout/", {"plan": plan})
    assert response.status_code == 400
    assert "choose one of the plans" in response.content.decode()
    assert fake_stripe.requests == []


def test_plan_without_a_configured_price_cannot_be_bought(
    personas, login, client, fake_stripe, settings
):
    settings.STRIPE_PRICE_SCALE = []
    login(personas["owner_a"])
    assert client.post("/billing/checkout/", {"plan": "scale"}).status_code == 400


def test_second_subscription_is_refused(personas, login, client, fake_stripe):
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = "cus_A"
    account.stripe_subscription_id = "sub_A"
    account.status = BillingAccount.ACTIVE
    account.save()
    login(personas["owner_a"])
    assert client.post("/billing/checkout/", {"plan": "growth"}).status_code == 409
    assert fake_stripe.requests == []


def test_stripe_500_gives_a_clear_message_and_changes_nothing(personas, login, client, fake_stripe):
    fake_stripe.outage = "500"
    agency = personas["agency_a"]
    before = snapshot(agency)
    login(personas["owner_a"])
    response = client.post("/billing/checkout/", {"plan": "growth"})
    assert response.status_code == 503
    assert "not answering" in response.content.decode()
    assert snapshot(agency) == before


def test_stripe_unreachable_gives_a_clear_message(personas, login, client, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
    agency = personas["agency_a"]
    before = snapshot(agency)
    login(personas["owner_a"])
    response = client.post(
        "/billing/checkout/", {"plan": "growth"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 503
    assert "not answering" in response.json()["message"]
    assert snapshot(agency) == before


def test_missing_stripe_key_is_a_clear_503(personas, login, client, settings):
    settings.STRIPE_SECRET_KEY = ""
    login(personas["owner_a"])
    response = client.post("/billing/checkout/", {"plan": "growth"})
    assert response.status_code == 503
    assert "not set up" in response.content.decode()


def test_portal_opens_for_an_existing_customer(personas, login, client, fake_stripe):
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = "cus_Portal"
    account.save()
    login(personas["owner_a"])
    response = client.post("/billing/portal/")
    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    (call,) = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call.form["customer"] == "cus_Portal"
    assert call.form["return_url"].endswith("/billing/")


def test_portal_without_customer_is_a_clear_400(personas, login, client, fake_stripe):
    login(personas["owner_a"])
    response = client.post("/billing/portal/")
    assert response.status_code == 400
    assert fake_stripe.requests == []


def test_portal_outage_is_a_clear_503(personas, login, client, fake_stripe):
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = "cus_Portal"
    account.save()
    fake_stripe.outage = "500"
    login(personas["owner_a"])
    assert client.post("/billing/portal/").status_code == 503


def test_checkout_needs_a_csrf_token(personas, login, fake_stripe):
    from django.test import Client

    strict = login(personas["owner_a"], test_client=Client(enforce_csrf_checks=True))
    assert strict.post("/billing/checkout/", {"plan": "growth"}).status_code == 403
    assert fake_stripe.requests == []


def test_checkout_is_post_only(personas, login, client):
    login(personas["owner_a"])
    assert client.get("/billing/checkout/").status_code == 405


def test_page_shows_status_of_the_own_agency_only(personas, login, client):
    other = account_for(personas["agency_b"])
    other.status = BillingAccount.CANCELED
    other.stripe_customer_id = "cus_Other"
    other.save()
    login(personas["owner_a"])
    body = client.get("/billing/").content.decode()
    assert "Canceled" not in body
    assert "Manage subscription" not in body


def test_expired_trial_can_still_reach_billing(personas, login, client):
    account = account_for(personas["agency_a"])
    account.trial_end = timezone.now() - timedelta(days=1)
    account.save()
    login(personas["owner_a"])
    response = client.get("/billing/")
    assert response.status_code == 200
    assert "trial has ended" in response.content.decode()
