"""One agency's journey: trial, Checkout, paid, payment failure, grace, read-only, recovery."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from django.utils import timezone

from billing.accounts import account_for
from billing.gating import FULL, GRACE, READ_ONLY, access_for
from billing.models import BillingAccount
from tests.billing.conftest import PRICES, load_event


def test_trial_to_paid_to_grace_to_read_only_and_back(
    personas, login, client, fake_stripe, deliver
):
    agency, owner = personas["agency_a"], personas["owner_a"]
    login(owner)
    response = client.post("/billing/checkout/", {"plan": "growth"})
    assert response.status_code == 303
    (call,) = fake_stripe.calls("/v1/checkout/sessions")
    assert call.form["metadata[agency_id]"] == str(agency.pk)

    ids = {
        "cus_FIXTURE": "cus_Journey",
        "sub_FIXTURE": "sub_Journey",
        "AGENCY_ID": str(agency.pk),
        "PRICE_ID": PRICES["growth"],
    }
    now = int(time.time())
    deliver(load_event("checkout.session.completed", created=now, **ids))
    deliver(load_event("customer.subscription.created", created=now, **ids))
    account = account_for(agency)
    assert (account.status, account.plan, account.stripe_customer_id) == (
        BillingAccount.ACTIVE,
        "growth",
        "cus_Journey",
    )
    assert access_for(agency, owner).features.csv_export

    deliver(load_event("invoice.payment_failed", created=now + 10, **ids))
    assert access_for(agency, owner).mode == GRACE
    assert "Open Billing" in client.get("/billing/").content.decode()

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert access_for(agency, owner).mode == READ_ONLY
        login(owner)  # the old session idled out long ago
        assert client.get("/billing/").status_code == 200  # billing stays reachable

    deliver(load_event("invoice.paid", created=now + 20, **ids))
    assert access_for(agency, owner).mode == FULL
