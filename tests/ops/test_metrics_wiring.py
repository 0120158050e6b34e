"""The counters /metrics exposes move when the events they name happen."""

import pytest
from prometheus_client import REGISTRY

from accounts.sso import encrypt_payload


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_a_refused_sso_payload_counts_an_sso_failure(client, settings):
    settings.GHL_SSO_SHARED_SECRET = "secret-one"
    before = value("gocsm_sso_failures_total", reason="bad_base64")
    client.post("/auth/sso/", {"payload": "not-base64!"}, HTTP_ORIGIN="http://testserver")
    assert value("gocsm_sso_failures_total", reason="bad_base64") == before + 1


@pytest.mark.django_db
def test_an_sso_payload_for_an_unknown_agency_counts_too(client, settings):
    settings.GHL_SSO_SHARED_SECRET = "secret-one"
    payload = encrypt_payload({"userId": "U1", "companyId": "NoSuchAgency"}, "secret-one")
    before = sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "gocsm_sso_failures"
        for s in m.samples
        if s.name.endswith("_total")
    )
    assert (
        client.post("/auth/sso/", {"payload": payload}, HTTP_ORIGIN="http://testserver").status_code
        == 403
    )
    after = sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "gocsm_sso_failures"
        for s in m.samples
        if s.name.endswith("_total")
    )
    assert after == before + 1


@pytest.mark.django_db
def test_a_badly_signed_ghl_webhook_counts_a_rejection(client):
    before = value("gocsm_webhook_rejections_total", source="ghl", reason="signature")
    response = client.post(
        "/webhooks/ghl/",
        data='{"type":"INSTALL"}',
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE="AAAA",
    )
    assert response.status_code == 401
    assert value("gocsm_webhook_rejections_total", source="ghl", reason="signature") == before + 1


@pytest.mark.django_db
def test_a_badly_signed_stripe_webhook_counts_a_rejection(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
    before = value("gocsm_webhook_rejections_total", source="stripe", reason="signature")
    response = client.post(
        "/webhooks/stripe/",
        data="{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    assert response.status_code == 400
    assert (
        value("gocsm_webhook_rejections_total", source="stripe", reason="signature") == before + 1
    )


def test_ghl_client_events_count_429s_and_retries_by_cause():
    from sync.ghl.client import GHLClient
    from sync.ghl.signals import ghl_event

    before_429 = value("gocsm_ghl_rate_limited_total")
    before_retry = value("gocsm_ghl_retries_total", reason="rate_limited")
    before_net = value("gocsm_ghl_retries_total", reason="network")
    ghl_event.send(sender=GHLClient, kind="rate_limited", path="/x", status=429, resource="r")
    ghl_event.send(sender=GHLClient, kind="retry", path="/x", status=429, resource="r")
    ghl_event.send(sender=GHLClient, kind="retry", path="/x", status=None, resource="r")
    assert value("gocsm_ghl_rate_limited_total") == before_429 + 1
    assert value("gocsm_ghl_retries_total", reason="rate_limited") == before_retry + 1
    assert value("gocsm_ghl_retries_total", reason="network") == before_net + 1
