"""The Stripe webhook: signature first, version check, exactly-once, order-safe."""

from __future__ import annotations

import json
import time

import pytest

from accounts.models import AuditEvent
from billing.accounts import account_for
from billing.models import BillingAccount, StripeEvent
from tests.billing.conftest import PRICES, WEBHOOK_SECRET, load_event, sign

CUSTOMER = "cus_TestBright01"
SUBSCRIPTION = "sub_TestBright01"


@pytest.fixture
def paying(personas):
    """Agency A with an active Growth subscription."""
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = CUSTOMER
    account.stripe_subscription_id = SUBSCRIPTION
    account.plan = "growth"
    account.status = BillingAccount.ACTIVE
    account.save()
    return account


def event_for(agency, event_type, *, price=PRICES["growth"], customer=CUSTOMER, **extra):
    return load_event(
        event_type,
        cus_FIXTURE=customer,
        sub_FIXTURE=extra.pop("subscription", SUBSCRIPTION),
        AGENCY_ID=str(agency.pk),
        PRICE_ID=price,
        **extra,
    )


def state(account):
    account.refresh_from_db()
    return (
        account.stripe_customer_id,
        account.stripe_subscription_id,
        account.plan,
        account.status,
        account.past_due_since,
    )


@pytest.mark.parametrize(
    "event_type",
    [
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    ],
)
def test_every_handled_event_type_is_accepted_once(personas, deliver, event_type):
    agency = personas["agency_a"]
    account = account_for(agency)
    account.stripe_customer_id = CUSTOMER
    account.stripe_subscription_id = SUBSCRIPTION
    account.status = BillingAccount.ACTIVE
    account.save()
    event = event_for(agency, event_type, created=int(time.time()))
    assert deliver(event).status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    first = state(account)
    assert deliver(event).json()["outcome"] == "duplicate"
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert state(account) == first


def test_checkout_completed_links_the_customer_and_activates_the_plan(personas, deliver):
    agency = personas["agency_a"]
    account = account_for(agency)
    event = event_for(agency, "checkout.session.completed", created=int(time.time()))
    response = deliver(event)
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.stripe_customer_id == CUSTOMER
    assert account.stripe_subscription_id == SUBSCRIPTION
    assert account.status == BillingAccount.ACTIVE
    assert account.plan == "growth"
    assert AuditEvent.objects.filter(agency=agency, action="billing.status_changed").exists()


def test_subscription_created_before_checkout_completed_still_finds_the_agency(personas, deliver):
    agency = personas["agency_a"]
    account = account_for(agency)
    now = int(time.time())
    created = event_for(agency, "customer.subscription.created", created=now)
    assert deliver(created).json()["outcome"] == "applied"
    completed = event_for(agency, "checkout.session.completed", created=now)
    assert deliver(completed).status_code == 200
    account.refresh_from_db()
    assert (account.stripe_customer_id, account.status, account.plan) == (
        CUSTOMER,
        BillingAccount.ACTIVE,
        "growth",
    )
    assert account.current_period_end is not None


def test_subscription_update_changes_plan_and_is_audited(paying, deliver):
    agency = paying.agency
    event = load_event(
        "customer.subscription.updated",
        cus_FIXTURE=CUSTOMER,
        sub_FIXTURE=SUBSCRIPTION,
        AGENCY_ID=str(agency.pk),
        PRICE_ID=PRICES["scale"],
        created=int(time.time()),
    )
    event["data"]["object"]["status"] = "active"
    deliver(event)
    paying.refresh_from_db()
    assert paying.plan == "scale"
    audit = AuditEvent.objects.get(agency=agency, action="billing.plan_changed")
    assert audit.detail["from"] == "growth"
    assert audit.detail["to"] == "scale"
    assert audit.detail["event_id"] == event["id"]


def test_unknown_price_unlocks_no_plan(paying, deliver):
    event = event_for(
        paying.agency,
        "customer.subscription.updated",
        price="price_unknown",
        created=int(time.time()),
    )
    event["data"]["object"]["status"] = "active"
    deliver(event)
    paying.refresh_from_db()
    assert paying.plan == ""


def test_payment_failure_starts_grace_and_payment_ends_it(paying, deliver):
    now = int(time.time())
    deliver(event_for(paying.agency, "invoice.payment_failed", created=now))
    paying.refresh_from_db()
    assert paying.status == BillingAccount.PAST_DUE
    assert paying.past_due_since is not None
    deliver(event_for(paying.agency, "invoice.paid", created=now + 60))
    paying.refresh_from_db()
    assert paying.status == BillingAccount.ACTIVE
    assert paying.past_due_since is None


def test_subscription_deleted_cancels(paying, deliver):
    deliver(event_for(paying.agency, "customer.subscription.deleted", created=int(time.time())))
    paying.refresh_from_db()
    assert paying.status == BillingAccount.CANCELED


def test_wrong_secret_is_refused_and_changes_nothing(paying, deliver):
    before = state(paying)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    response = deliver(event, secret="whsec_not_ours")
    assert response.status_code == 400
    assert state(paying) == before
    assert not StripeEvent.objects.exists()


def test_stale_signature_timestamp_is_refused(paying, deliver):
    before = state(paying)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    response = deliver(event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert state(paying) == before
    assert not StripeEvent.objects.exists()


def test_signature_within_tolerance_is_accepted(paying, deliver):
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    assert deliver(event, timestamp=int(time.time()) - 240).status_code == 200


@pytest.mark.parametrize("ahead", [301, 3600, 10 * 365 * 24 * 3600])
def test_future_dated_signature_is_refused_and_changes_nothing(paying, deliver, ahead):
    # Stripe's library checks only the old side of the tolerance: a signature dated ahead would
    # otherwise stay replayable for as long as it is dated ahead.
    before = state(paying)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    response = deliver(event, timestamp=int(time.time()) + ahead)
    assert response.status_code == 400
    assert response.json() == {"error": "signature"}
    assert state(paying) == before
    assert not StripeEvent.objects.exists()


def test_a_clock_a_little_ahead_of_ours_is_tolerated(paying, deliver):
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    assert deliver(event, timestamp=int(time.time()) + 240).status_code == 200


def test_the_first_timestamp_is_the_one_checked_as_stripe_checks_it(paying, deliver):
    # A second t= cannot smuggle a future-dated signature past the check.
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    body = json.dumps(event)
    future = int(time.time()) + 3600
    signed = sign(body, timestamp=future)
    header = f"{signed},t={int(time.time())}"
    assert deliver(None, payload=body, header=header).status_code == 400


@pytest.mark.parametrize(
    "header", ["", "garbage", "t=abc,v1=00", "t=1760000000", "v1=deadbeef", "t=1,v0=00"]
)
def test_malformed_signature_headers_are_refused(paying, deliver, header):
    before = state(paying)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    response = deliver(event, header=header)
    assert response.status_code == 400
    assert state(paying) == before


def test_body_altered_after_signing_is_refused(paying, deliver):
    event = event_for(paying.agency, "customer.subscription.updated", created=int(time.time()))
    body = json.dumps(event)
    header = sign(body)
    tampered = body.replace('"past_due"', '"active"')
    assert deliver(None, payload=tampered, header=header).status_code == 400


def test_signed_but_malformed_bodies_are_refused(paying, deliver):
    for body in ["not json", "[]", '{"object": "event"}', '{"id": 5, "type": "x"}']:
        assert deliver(None, payload=body).status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # about 200 KB, under the body cap
        '{"object": "event", "data": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"object": "event", "id": ' + "9" * 20_000 + "}",
        '{"object": "event", "created": NaN}',
    ],
    ids=["nested", "nested-in-event", "huge-integer", "nan"],
)
def test_signed_but_hostile_bodies_are_refused(paying, deliver, body):
    before = state(paying)
    response = deliver(None, payload=body)
    assert response.status_code == 400
    assert response.json() == {"error": "malformed"}
    assert state(paying) == before
    assert not StripeEvent.objects.exists()


def test_other_api_version_is_refused(paying, deliver):
    before = state(paying)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    event["api_version"] = "2024-06-20"
    assert deliver(event).status_code == 400
    assert state(paying) == before
    assert not StripeEvent.objects.exists()


def test_unhandled_type_is_acknowledged_and_ignored(paying, deliver):
    before = state(paying)
    response = deliver(event_for(paying.agency, "customer.created", created=int(time.time())))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert state(paying) == before


def test_unknown_customer_is_acknowledged_and_changes_nothing(paying, deliver):
    event = load_event(
        "customer.subscription.deleted",
        cus_FIXTURE="cus_NotOurs",
        sub_FIXTURE="sub_NotOurs",
        AGENCY_ID="",
        PRICE_ID=PRICES["growth"],
        created=int(time.time()),
    )
    before = state(paying)
    response = deliver(event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_customer"
    assert state(paying) == before
    assert BillingAccount.objects.count() == 1
    assert not StripeEvent.objects.exists()


def test_metadata_cannot_move_an_agency_to_another_customer(paying, deliver):
    event = event_for(
        paying.agency,
        "customer.subscription.deleted",
        customer="cus_Other",
        created=int(time.time()),
    )
    before = state(paying)
    assert deliver(event).json()["outcome"] == "unknown_customer"
    assert state(paying) == before


def test_replay_of_an_old_delivery_changes_nothing(paying, deliver):
    now = int(time.time())
    failed = event_for(paying.agency, "invoice.payment_failed", created=now)
    deliver(failed)
    deliver(event_for(paying.agency, "invoice.paid", created=now + 10))
    after_paid = state(paying)
    # The same failed event, delivered again (re-signed now, so the signature is fresh).
    assert deliver(failed).json()["outcome"] == "duplicate"
    assert state(paying) == after_paid


def test_out_of_order_subscription_update_never_overwrites_newer_state(paying, deliver):
    now = int(time.time())
    newer = event_for(paying.agency, "customer.subscription.updated", id="evt_new", created=now)
    newer["data"]["object"]["status"] = "active"
    newer["data"]["object"]["items"]["data"][0]["price"]["id"] = PRICES["scale"]
    older = event_for(
        paying.agency, "customer.subscription.updated", id="evt_old", created=now - 120
    )
    older["data"]["object"]["status"] = "past_due"
    deliver(newer)
    assert deliver(older).json()["outcome"] == "stale"
    paying.refresh_from_db()
    assert (paying.status, paying.plan) == (BillingAccount.ACTIVE, "scale")
    assert paying.past_due_since is None


def test_late_update_after_deletion_does_not_revive_the_subscription(paying, deliver):
    now = int(time.time())
    deliver(event_for(paying.agency, "customer.subscription.deleted", created=now))
    update = event_for(paying.agency, "customer.subscription.updated", created=now)
    update["data"]["object"]["status"] = "active"
    deliver(update)
    paying.refresh_from_db()
    assert paying.status == BillingAccount.CANCELED


def test_old_subscription_ending_does_not_cancel_the_new_one(paying, deliver):
    now = int(time.time())
    new = event_for(
        paying.agency, "customer.subscription.created", subscription="sub_New", created=now
    )
    deliver(new)
    paying.refresh_from_db()
    assert paying.stripe_subscription_id == "sub_New"
    deliver(event_for(paying.agency, "customer.subscription.deleted", created=now + 5))
    paying.refresh_from_db()
    assert (paying.stripe_subscription_id, paying.status) == ("sub_New", BillingAccount.ACTIVE)


def test_webhook_needs_no_session_and_no_csrf_token(paying, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    body = json.dumps(event)
    response = strict.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign(body)},
    )
    assert response.status_code == 200


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/stripe/").status_code == 405


def test_signature_secret_is_never_logged(paying, deliver, caplog):
    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    body = json.dumps(event)
    header = sign(body)
    deliver(event, header=header)
    deliver(event, secret="whsec_wrong")
    text = caplog.text
    assert WEBHOOK_SECRET not in text
    assert header.split("v1=")[1] not in text


@pytest.fixture
def customer_only(personas):
    """Agency A known to Stripe by customer id, its subscription id not yet stored."""
    account = account_for(personas["agency_a"])
    account.stripe_customer_id = CUSTOMER
    account.status = BillingAccount.ACTIVE
    account.save()
    return account


def test_deletion_for_a_customer_without_stored_subscription_cancels(customer_only, deliver):
    deliver(event_for(customer_only.agency, "customer.subscription.deleted", created=1))
    customer_only.refresh_from_db()
    assert customer_only.status == BillingAccount.CANCELED
    assert customer_only.stripe_subscription_id == SUBSCRIPTION


def test_payment_failure_for_a_customer_without_stored_subscription(customer_only, deliver):
    deliver(event_for(customer_only.agency, "invoice.payment_failed", created=int(time.time())))
    customer_only.refresh_from_db()
    assert customer_only.status == BillingAccount.PAST_DUE


def test_one_off_invoice_does_not_touch_the_subscription(paying, deliver):
    event = event_for(paying.agency, "invoice.payment_failed", created=int(time.time()))
    event["data"]["object"]["parent"] = None
    before = state(paying)
    deliver(event)
    assert state(paying) == before


def test_crash_while_applying_leaves_no_event_row_and_heals_on_retry(paying, deliver, monkeypatch):
    from billing import handlers

    event = event_for(paying.agency, "customer.subscription.deleted", created=int(time.time()))
    real_apply = handlers.apply

    def crash(*args, **kwargs):
        raise RuntimeError("worker died mid-event")

    monkeypatch.setattr(handlers, "apply", crash)
    before = state(paying)
    with pytest.raises(RuntimeError):
        deliver(event)
    assert state(paying) == before
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()
    monkeypatch.setattr(handlers, "apply", real_apply)
    assert deliver(event).json()["outcome"] == "applied"
    paying.refresh_from_db()
    assert paying.status == BillingAccount.CANCELED
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_signed_event_with_odd_shapes_does_not_crash(paying, deliver):
    event = event_for(paying.agency, "customer.subscription.updated", created=int(time.time()))
    event["data"]["object"]["items"] = ["not", "a", "list object"]
    event["data"]["object"]["status"] = "active"
    assert deliver(event).status_code == 200
    paying.refresh_from_db()
    assert paying.plan == ""
