"""Fixtures for the identity tests: a shared secret, payloads made as CryptoJS makes them, and a
client that posts them to /auth/sso/ from our own origin."""

from __future__ import annotations

import logging

import pytest

from accounts.sso import encrypt_payload

SECRET = "0b6f2c1e-8d4a-4f7b-a3c5-9e1d7f2b6a40"
OLD_SECRET = "7a9e3d21-5c6b-4e8f-b1a2-3c4d5e6f7a8b"
OWN_ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def sso_settings(settings):
    settings.GHL_SSO_SHARED_SECRET = SECRET
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = ""
    settings.PUBLIC_ORIGIN = ""
    settings.SSO_FAILURES_PER_IP = 20
    return settings


def claims_for(user, **overrides) -> dict:
    claims = {
        "userId": user.ghl_id,
        "companyId": user.agency.company_id,
        "role": user.ghl_role or "user",
        "type": "agency",
        "userName": user.name,
        "email": user.email,
        "isAgencyOwner": user.is_agency_owner,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def payload_for():
    def make(user=None, secret=SECRET, **claims):
        data = claims_for(user, **claims) if user is not None else claims
        return encrypt_payload(data, secret)

    return make


@pytest.fixture
def sso_post(client):
    """POST a payload to /auth/sso/ the way the bootstrap script does (JSON, our own Origin)."""

    def post(payload, test_client=None, origin=OWN_ORIGIN, as_form=False, **extra):
        c = test_client or client
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        headers.update(extra)
        if as_form:
            return c.post("/auth/sso/", {"payload": payload}, **headers)
        return c.post(
            "/auth/sso/",
            {"payload": payload},
            content_type="application/json",
            HTTP_ACCEPT="application/json",
            **headers,
        )

    return post


@pytest.fixture
def all_logs(caplog):
    """Every log record at every level, including loggers that do not propagate to the root
    (django.*). caplog sees records before the redacting filter, so an assertion that a secret is
    absent here holds for what any handler could write."""
    caplog.set_level(logging.DEBUG)
    django_logger = logging.getLogger("django")
    django_logger.addHandler(caplog.handler)
    yield caplog
    django_logger.removeHandler(caplog.handler)


def logged_text(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__!r} {r.exc_text or ''}" for r in caplog.records)


@pytest.fixture(autouse=True)
def people_are_synced_from_ghl():
    """People made by these tests (make_user, personas) stand for GHL users the pulls have
    synced, so SSO can confirm them. Users no test made are unknown to GHL (no grant to ask
    with) and are refused, as in production; tests/pulls/test_sso_confirmation.py covers the
    fetch from GHL's users API."""
    from django.db.models.signals import pre_save
    from django.utils import timezone

    from accounts.models import GHLUser

    def mark(sender, instance, **kwargs):
        if instance.confirmed_by_ghl_at is None:
            instance.confirmed_by_ghl_at = timezone.now()
            if not instance.ghl_type:
                instance.ghl_type = "account" if instance.role == "location" else "agency"

    pre_save.connect(mark, sender=GHLUser, dispatch_uid="tests-synced-people")
    yield
    pre_save.disconnect(sender=GHLUser, dispatch_uid="tests-synced-people")
