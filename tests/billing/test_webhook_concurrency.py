"""Two deliveries of one event racing on real PostgreSQL apply it once."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connections
from django.test import Client

from accounts.models import AuditEvent
from billing.accounts import account_for
from billing.models import BillingAccount, StripeEvent
from tests.billing.conftest import PRICES, load_event, sign


@pytest.mark.services
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_duplicate_deliveries_apply_once(personas):
    agency = personas["agency_a"]
    account = account_for(agency)
    account.stripe_customer_id = "cus_Race"
    account.stripe_subscription_id = "sub_Race"
    account.status = BillingAccount.ACTIVE
    account.plan = "growth"
    account.save()
    event = load_event(
        "customer.subscription.updated",
        cus_FIXTURE="cus_Race",
        sub_FIXTURE="sub_Race",
        AGENCY_ID=str(agency.pk),
        PRICE_ID=PRICES["scale"],
        created=int(time.time()),
    )
    body = json.dumps(event)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver():
        try:
            barrier.wait()
            response = Client().post(
                "/webhooks/stripe/",
                data=body,
                content_type="application/json",
                headers={"Stripe-Signature": sign(body)},
            )
            outcomes.append(response.json()["outcome"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert AuditEvent.objects.filter(agency=agency, action="billing.plan_changed").count() == 1
    account.refresh_from_db()
    assert (account.status, account.plan) == (BillingAccount.PAST_DUE, "scale")
