"""Billing test harness: Stripe settings, a local fake Stripe, signed webhook deliveries."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from tests.billing.fakestripe import API_KEY, FakeStripe

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "whsec_test_billing_0123456789abcdef"
PRICES = {"starter": "price_starter_m", "growth": "price_growth_m", "scale": "price_scale_m"}


@pytest.fixture(autouse=True)
def _billing_settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_VERSION = "2025-09-30.clover"
    settings.STRIPE_PRICE_STARTER = [PRICES["starter"]]
    settings.STRIPE_PRICE_GROWTH = [PRICES["growth"], "price_growth_yearly"]
    settings.STRIPE_PRICE_SCALE = [PRICES["scale"]]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    settings.POSTHOG_API_KEY = ""
    # Fake Stripe and fake PostHog listen on plain HTTP loopback.
    settings.SECURE_SSL_REDIRECT = False
    return settings


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_API_BASE = fake.base_url
    yield fake
    fake.stop()


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header exactly as Stripe builds it: HMAC-SHA256 over "<t>.<body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def load_event(event_type: str, **replacements) -> dict:
    """A fixture event with placeholders (cus_FIXTURE, sub_FIXTURE, AGENCY_ID, PRICE_ID)
    replaced; `id` and `created` may be overridden too."""
    body = json.loads((FIXTURES / f"{event_type}.json").read_text())
    overrides = {k: replacements.pop(k) for k in ("id", "created") if k in replacements}

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and value in replacements:
            return replacements[value]
        return value

    event = walk(copy.deepcopy(body))
    event.update(overrides)
    return event


@pytest.fixture
def deliver(client):
    """POST an event to the webhook the way Stripe does; returns the response."""

    def do(event, *, secret=WEBHOOK_SECRET, timestamp=None, payload=None, header=None):
        body = payload if payload is not None else json.dumps(event)
        sig = header if header is not None else sign(body, secret, timestamp)
        return client.post(
            "/webhooks/stripe/",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": sig} if sig else {},
        )

    return do
