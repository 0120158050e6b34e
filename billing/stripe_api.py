"""The only module that talks to Stripe (and the only one importing `stripe`).

Configuration comes from settings: STRIPE_SECRET_KEY, STRIPE_API_VERSION and STRIPE_API_BASE (a
local fake Stripe in tests and the demo). Callers get plain values and our own exceptions, never
Stripe objects, so the rest of the app does not depend on the SDK's shapes.

API references: Checkout Sessions https://docs.stripe.com/api/checkout/sessions/create,
Customer Portal https://docs.stripe.com/api/customer_portal/sessions/create,
webhook signatures https://docs.stripe.com/webhooks#verify-events.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import lru_cache

import stripe
from django.conf import settings

from gocsm import safejson

log = logging.getLogger(__name__)


class BillingUnavailable(Exception):
    """Stripe did not answer usefully (down, timed out, refused us). Nothing was created."""


class BillingNotConfigured(BillingUnavailable):
    """No Stripe key is configured in this environment."""


class InvalidSignature(Exception):
    """The webhook body is not signed by Stripe with our secret, or the signature is too old."""


class MalformedEvent(Exception):
    """The (correctly signed) webhook body is not a Stripe event we can read."""


@lru_cache(maxsize=4)
def _client(api_key: str, version: str, base: str, timeout: float, retries: int):
    base_addresses = {"api": base} if base else None
    return stripe.StripeClient(
        api_key,
        stripe_version=version,
        base_addresses=base_addresses,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured("STRIPE_SECRET_KEY is not set")
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_API_BASE.rstrip("/"),
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        # Log the class and Stripe's request id only: messages can echo parameters.
        log.warning(
            "stripe %s failed: %s (request %s)",
            what,
            type(exc).__name__,
            getattr(exc, "request_id", None) or "-",
        )
        raise BillingUnavailable(what) from exc


def _url_of(session, what: str) -> str:
    url = session.to_dict().get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise BillingUnavailable(f"{what} without url")
    return url


def create_checkout_session(
    *,
    agency_id: int,
    price_id: str,
    plan_slug: str,
    customer_id: str = "",
    trial_end: datetime | None = None,
    success_url: str,
    cancel_url: str,
) -> str:
    """Start a subscription Checkout for one agency and return the URL to send the buyer to.

    The agency id travels in client_reference_id and in the subscription's metadata, so the
    webhooks can find the agency whichever event arrives first. Raises BillingUnavailable.
    """
    metadata = {"agency_id": str(agency_id), "plan": plan_slug}
    subscription_data: dict = {"metadata": metadata}
    if trial_end is not None:
        # Carry the unused part of the free trial into the paid subscription.
        subscription_data["trial_end"] = int(trial_end.timestamp())
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "client_reference_id": str(agency_id),
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_id:
        params["customer"] = customer_id
    session = _call("checkout.sessions.create", client().v1.checkout.sessions.create, params)
    return _url_of(session, "checkout session")


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    """Open the Customer Portal for an existing Stripe customer. Raises BillingUnavailable."""
    session = _call(
        "billing_portal.sessions.create",
        client().v1.billing_portal.sessions.create,
        {"customer": customer_id, "return_url": return_url},
    )
    return _url_of(session, "portal session")


def _signed_timestamp(header: str) -> int | None:
    """The header's timestamp, read as the library reads it: the first `t=` item."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def verify_and_parse_event(payload: bytes, signature_header: str | None) -> dict:
    """Check the Stripe-Signature header against the raw body with Stripe's own verifier (HMAC
    over "<t>.<body>"), refuse a timestamp more than STRIPE_WEBHOOK_TOLERANCE_SECONDS from now
    on either side, and only then parse it.

    Returns the event as plain dicts. Raises InvalidSignature or MalformedEvent.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidSignature("no webhook secret configured")
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignature(type(exc).__name__) from None
    # The library refuses only timestamps older than the tolerance; one dated ahead would stay
    # replayable for as long as it is ahead, so the other side is refused here.
    signed_at = _signed_timestamp(signature_header or "")
    if signed_at is None or signed_at > time.time() + settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp in the future")
    try:
        event = safejson.loads(payload)
    except safejson.InvalidJSON as exc:
        raise MalformedEvent(str(exc)) from None
    if not isinstance(event, dict):
        raise MalformedEvent("body is not an object")
    return event
