"""What each Stripe event does to a BillingAccount.

Called by billing.webhooks inside the transaction that also records the event id, with the
account row locked. Stripe does not deliver events in order, so every state change is guarded by
the event's `created` time: an event older than the newest one already applied to the
subscription changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from accounts import audit
from accounts.models import Agency
from billing.accounts import account_for
from billing.models import BillingAccount
from billing.plans import get_plan, plan_for_price

log = logging.getLogger(__name__)

CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
INVOICE_PAID = "invoice.paid"
INVOICE_FAILED = "invoice.payment_failed"
HANDLED_TYPES = {CHECKOUT_COMPLETED, *SUBSCRIPTION_EVENTS, INVOICE_PAID, INVOICE_FAILED}

# Stripe statuses that mean "this subscription is (still) the agency's subscription".
LIVE = {BillingAccount.TRIALING, BillingAccount.ACTIVE, BillingAccount.PAST_DUE}
# Stripe subscription status -> ours. "incomplete*" (first payment not done yet) changes nothing;
# "paused" (trial ended without a payment method) needs payment like "unpaid".
STATUS_MAP = {
    "trialing": BillingAccount.TRIALING,
    "active": BillingAccount.ACTIVE,
    "past_due": BillingAccount.PAST_DUE,
    "canceled": BillingAccount.CANCELED,
    "unpaid": BillingAccount.UNPAID,
    "paused": BillingAccount.UNPAID,
}


@dataclass(frozen=True)
class StripeEventData:
    id: str
    type: str
    created: datetime
    obj: dict


def from_unix(value) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _id(value) -> str:
    # Expandable fields are either an id string or the expanded object.
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _metadata_agency_id(obj: dict) -> int | None:
    for meta in (
        obj.get("metadata"),
        ((obj.get("parent") or {}).get("subscription_details") or {}).get("metadata"),
        (obj.get("subscription_details") or {}).get("metadata"),
    ):
        raw = (meta or {}).get("agency_id") if isinstance(meta, dict) else None
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
    if obj.get("object") == "checkout.session":
        ref = obj.get("client_reference_id")
        if isinstance(ref, str) and ref.isdigit():
            return int(ref)
    return None


def _invoice_subscription_id(invoice: dict) -> str:
    # Before API 2025-03-31 the invoice named its subscription directly; since then it sits under
    # parent.subscription_details.
    direct = _id(invoice.get("subscription"))
    if direct:
        return direct
    parent = invoice.get("parent") or {}
    return _id((parent.get("subscription_details") or {}).get("subscription"))


def find_account(event: StripeEventData) -> BillingAccount | None:
    """The locked account an event is about: by Stripe customer id, else by the agency id we put
    in the metadata when we created the Checkout (covers events that outrun
    checkout.session.completed). None when the customer is not ours."""
    customer = _id(event.obj.get("customer"))
    if customer:
        account = (
            BillingAccount.objects.select_for_update().filter(stripe_customer_id=customer).first()
        )
        if account is not None:
            return account
    agency_id = _metadata_agency_id(event.obj)
    if agency_id is None:
        return None
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        return None
    account = BillingAccount.objects.select_for_update().get(pk=account_for(agency).pk)
    if account.stripe_customer_id and customer and account.stripe_customer_id != customer:
        # The agency already pays through another customer; never move it on metadata alone.
        return None
    return account


def apply(event: StripeEventData, account: BillingAccount) -> str:
    """Apply one event to the locked account; return a short outcome word for the ledger."""
    before = (account.plan, account.status)
    if event.type == CHECKOUT_COMPLETED:
        outcome = _checkout_completed(event, account)
    elif event.type in SUBSCRIPTION_EVENTS:
        outcome = _subscription_changed(event, account)
    elif event.type == INVOICE_PAID:
        outcome = _invoice_paid(event, account)
    elif event.type == INVOICE_FAILED:
        outcome = _invoice_failed(event, account)
    else:
        return "ignored"
    account.save()
    _audit_changes(account, before, event)
    return outcome


def _checkout_completed(event: StripeEventData, account: BillingAccount) -> str:
    session = event.obj
    if session.get("mode") != "subscription":
        return "ignored"
    customer = _id(session.get("customer"))
    if customer and not account.stripe_customer_id:
        account.stripe_customer_id = customer
    subscription_id = _id(session.get("subscription"))
    if not subscription_id or subscription_id == account.stripe_subscription_id:
        # The subscription events already told us its state; they are the authority.
        return "linked"
    account.stripe_subscription_id = subscription_id
    if session.get("payment_status") in ("paid", "no_payment_required"):
        # Provisional until customer.subscription.* for this subscription arrives.
        account.status = BillingAccount.ACTIVE
        account.past_due_since = None
        plan = get_plan((session.get("metadata") or {}).get("plan"))
        if plan is not None:
            account.plan = plan.slug
    return "linked"


def _is_stale(event: StripeEventData, account: BillingAccount) -> bool:
    last = account.subscription_event_created
    return last is not None and event.created < last


def _subscription_changed(event: StripeEventData, account: BillingAccount) -> str:
    sub = event.obj
    sub_id = _id(sub)
    raw_status = sub.get("status")
    if event.type == "customer.subscription.deleted":
        raw_status = "canceled"
    status = STATUS_MAP.get(raw_status or "")
    is_current = bool(sub_id) and sub_id == account.stripe_subscription_id
    if _is_stale(event, account):
        return "stale"
    if is_current:
        if account.status == BillingAccount.CANCELED and status != BillingAccount.CANCELED:
            # A canceled Stripe subscription never comes back; anything else is an old event
            # sharing the deletion's second.
            return "stale"
    else:
        if account.stripe_subscription_id and status not in LIVE:
            # An old subscription ending (or one that never started) does not end the current
            # one.
            return "other_subscription"
        account.stripe_subscription_id = sub_id
    customer = _id(sub.get("customer"))
    if customer and not account.stripe_customer_id:
        account.stripe_customer_id = customer
    account.subscription_event_created = event.created
    if status is None:
        return "pending"
    _set_status(account, status, event.created)
    items = sub.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    plan = plan_for_price(_id(first.get("price")) or _id(sub.get("plan")))
    account.plan = plan.slug if plan else ""
    # Since API 2025-03-31 the period lives on each item.
    period_end = from_unix(sub.get("current_period_end")) or from_unix(
        first.get("current_period_end")
    )
    if period_end is not None:
        account.current_period_end = period_end
    trial_end = from_unix(sub.get("trial_end"))
    if trial_end is not None:
        account.trial_end = trial_end
    return "applied"


def _invoice_is_for_current(event: StripeEventData, account: BillingAccount) -> bool:
    """Whether an invoice belongs to the agency's subscription. One-off invoices do not; an
    account that has not heard of its subscription yet adopts the invoice's."""
    sub_id = _invoice_subscription_id(event.obj)
    if not sub_id:
        return False
    if not account.stripe_subscription_id:
        account.stripe_subscription_id = sub_id
    return sub_id == account.stripe_subscription_id


def _invoice_paid(event: StripeEventData, account: BillingAccount) -> str:
    if not _invoice_is_for_current(event, account):
        return "other_subscription"
    if _is_stale(event, account):
        return "stale"
    account.subscription_event_created = event.created
    if account.status in (BillingAccount.PAST_DUE, BillingAccount.UNPAID):
        _set_status(account, BillingAccount.ACTIVE, event.created)
    return "applied"


def _invoice_failed(event: StripeEventData, account: BillingAccount) -> str:
    if not _invoice_is_for_current(event, account):
        return "other_subscription"
    if _is_stale(event, account):
        return "stale"
    account.subscription_event_created = event.created
    if account.status in (BillingAccount.ACTIVE, BillingAccount.TRIALING):
        _set_status(account, BillingAccount.PAST_DUE, event.created)
    return "applied"


def _set_status(account: BillingAccount, status: str, at: datetime) -> None:
    if status == BillingAccount.PAST_DUE:
        # The grace period counts from the first failure, not from each retry.
        if account.status != BillingAccount.PAST_DUE or account.past_due_since is None:
            account.past_due_since = at
    else:
        account.past_due_since = None
    account.status = status


def _audit_changes(account: BillingAccount, before: tuple[str, str], event) -> None:
    old_plan, old_status = before
    detail = {"event_id": event.id, "event_type": event.type}
    if account.plan != old_plan:
        audit.record(
            "billing.plan_changed",
            agency=account.agency,
            target=account.stripe_subscription_id,
            detail={**detail, "from": old_plan, "to": account.plan},
        )
    if account.status != old_status:
        audit.record(
            "billing.status_changed",
            agency=account.agency,
            target=account.stripe_subscription_id,
            detail={**detail, "from": old_status, "to": account.status},
        )
