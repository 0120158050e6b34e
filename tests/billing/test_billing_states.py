"""The billing page says one consistent thing in every billing state: what the state is, what
access it gives, and the one way forward (plans only where buying one is that way)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from billing.accounts import account_for
from billing.models import BillingAccount

NOW = timezone.now()

# state: account fields, the status shown, the access shown, words of the lead sentence,
# whether plans are offered.
STATES = {
    "trial": (
        {"status": "trialing", "trial_end": NOW + timedelta(days=10)},
        "Trial",
        "Full",
        "You are on the free trial until",
        True,
    ),
    "trial_subscribed": (
        {
            "status": "trialing",
            "trial_end": NOW + timedelta(days=10),
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
        },
        "Trial",
        "Full",
        "You chose the Growth plan during the free trial. Stripe starts billing when the trial ends",
        False,
    ),
    "trial_ended": (
        {"status": "trialing", "trial_end": NOW - timedelta(days=1)},
        "Trial ended",
        "Read-only",
        "Your free trial ended on",
        True,
    ),
    "active": (
        {
            "status": "active",
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
            "current_period_end": NOW + timedelta(days=20),
        },
        "Active",
        "Full",
        "Your Growth subscription is active.",
        False,
    ),
    "active_offline": (
        {"status": "active", "plan": "growth"},
        "Active",
        "Full",
        "Your Growth plan is active. It was arranged with GoCSM support",
        False,
    ),
    "past_due": (
        {
            "status": "past_due",
            "past_due_since": NOW - timedelta(days=1),
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
        },
        "Payment failed",
        "Full",
        "The last payment failed. Everything keeps working until",
        False,
    ),
    "overdue": (
        {
            "status": "past_due",
            "past_due_since": NOW - timedelta(days=30),
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
        },
        "Payment overdue",
        "Read-only",
        "Payment is overdue, so dashboards are read-only",
        False,
    ),
    "unpaid": (
        {
            "status": "unpaid",
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
        },
        "Unpaid",
        "Read-only",
        "Payment is overdue, so dashboards are read-only",
        False,
    ),
    "canceled": (
        {
            "status": "canceled",
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "plan": "growth",
        },
        "Canceled",
        "Read-only",
        "Your subscription has ended, so dashboards are read-only",
        True,
    ),
}


def _page(personas, login, client, fields) -> str:
    account = account_for(personas["agency_a"])
    for k, v in fields.items():
        setattr(account, k, v)
    account.save()
    login(personas["owner_a"])
    response = client.get("/billing/")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _summary(text: str) -> dict[str, str]:
    part = text[text.index("Plan ") : text.index("Access ") + 30]
    return {
        "status": part[part.index("Status ") + 7 : part.index(" Access")].strip(),
        "access": part[part.index("Access ") + 7 :].split(" ")[0],
    }


@pytest.mark.parametrize("state", STATES)
def test_each_state_says_one_thing(personas, login, client, state):
    fields, status, access, lead, offers_plans = STATES[state]
    text = _page(personas, login, client, fields)
    assert lead in text
    assert _summary(text) == {"status": status, "access": access.split(" ")[0]}
    assert ("Choose a plan" in text) is offers_plans
    assert ("Choose Growth" in text) is offers_plans
    assert "No plans are available" not in text
    if access == "Full":
        assert "read-only" not in text.lower()
    if status == "Active":
        assert "Choose a plan" not in text and "trial" not in text.lower()
    # Managing on Stripe is offered exactly when there is a Stripe customer to manage.
    assert ("Manage subscription" in text) is bool(fields.get("stripe_customer_id"))


@pytest.mark.parametrize("state", [s for s, v in STATES.items() if v[4]])
def test_without_purchasable_plans_the_page_says_how_to_go_on(
    personas, login, client, state, settings
):
    settings.STRIPE_PRICE_STARTER = settings.STRIPE_PRICE_GROWTH = settings.STRIPE_PRICE_SCALE = []
    fields, _status, _access, lead, _offers = STATES[state]
    text = _page(personas, login, client, fields)
    assert lead in text
    assert "Choose a plan" not in text
    assert "Plans cannot be bought online on this server yet. Please contact support" in text


def test_active_plan_arranged_with_support_never_reads_as_missing_plans(
    personas, login, client, settings
):
    """The demo's state: active, no Stripe subscription, no prices configured."""
    settings.STRIPE_PRICE_STARTER = settings.STRIPE_PRICE_GROWTH = settings.STRIPE_PRICE_SCALE = []
    text = _page(personas, login, client, STATES["active_offline"][0])
    assert "Your Growth plan is active." in text
    assert "Plans cannot be bought" not in text and "No plans" not in text


def test_past_due_page_and_banner_name_the_same_deadline(personas, login, client):
    text = _page(personas, login, client, STATES["past_due"][0])
    deadline = account_for(personas["agency_a"]).past_due_since + timedelta(days=7)
    assert f"Update the payment method by {date_format(deadline, 'N j')} " in text  # the banner
    assert f"keeps working until {date_format(deadline, 'N j, Y')}:" in text


def test_states_cover_every_status():
    assert {v[0]["status"] for v in STATES.values()} == {s for s, _ in BillingAccount.STATUSES}
