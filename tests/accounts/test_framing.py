"""Who may frame each response (CSP frame-ancestors), and the bootstrap page GHL frames.

App pages: GHL's origins and the signed-in agency's own white-label domain. The SSO bootstrap:
GHL's origins and the framing page's domain when it is a customer's. Everything else: nobody.
No response lists another agency's domain.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.framing import whitelabel_origin
from tests.gocsm.test_url_guard import ROUTES

pytestmark = pytest.mark.django_db

GHL = ["https://app.gohighlevel.com", "https://app.leadconnectorhq.com"]
DOMAIN_A = "app.brightpath.example"
DOMAIN_B = "crm.northstar.example"


@pytest.fixture(autouse=True)
def _ghl_origins(settings):
    settings.GHL_FRAME_ORIGINS = GHL


@pytest.fixture
def customers(personas):
    """Agencies A and B, each with its own white-label domain."""
    for key, domain in (("agency_a", DOMAIN_A), ("agency_b", DOMAIN_B)):
        personas[key].whitelabel_domain = domain
        personas[key].save()
    return personas


def frame_ancestors(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive = next(d.strip() for d in policy.split(";") if "frame-ancestors" in d)
    return directive.split()[1:]


def unframeable(response) -> bool:
    if response.get("X-Frame-Options") != "DENY":
        return False
    # Beacon answers skip the content policy (sync/beaconpath.py): DENY is their whole answer.
    return "Content-Security-Policy" not in response or frame_ancestors(response) == ["'none'"]


def test_anonymous_responses_list_no_customer_domain(client, customers):
    responses = [client.get("/nope/"), client.get("/", HTTP_REFERER="https://evil.example/")]
    for _name, url in ROUTES:
        responses.append(client.get(url, HTTP_ACCEPT="text/html"))
        responses.append(client.post(url, HTTP_ACCEPT="application/json"))
    for response in responses:
        text = response.get("Content-Security-Policy", "") + response.content.decode(
            errors="replace"
        )
        assert DOMAIN_A not in text
        assert DOMAIN_B not in text


def test_anything_anonymous_but_the_bootstrap_cannot_be_framed(client, customers):
    for name, url in ROUTES:
        if name == "accounts:bootstrap":
            continue  # the one exception, tested below
        for response in (client.get(url), client.post(url)):
            assert unframeable(response), f"{name} ({url}) {response.status_code}"
    assert unframeable(client.get("/nope/"))


def test_app_pages_allow_ghl_and_only_the_signed_in_agencys_domain(customers, login):
    pages = ["/app/", "/app/at-risk/", "/auth/me/", "/security/", "/billing/", "/app/nope-404/"]
    for owner, own, other in (("owner_a", DOMAIN_A, DOMAIN_B), ("owner_b", DOMAIN_B, DOMAIN_A)):
        client = login(customers[owner], Client())
        for url in pages:
            response = client.get(url)
            if response.status_code == 404:
                continue  # an unknown path has no view: nobody may frame it
            assert frame_ancestors(response) == [*GHL, f"https://{own}"], url
            assert "X-Frame-Options" not in response, url
            assert other not in response["Content-Security-Policy"], url


def test_an_error_inside_the_app_is_framed_like_the_app(customers, login):
    client = login(customers["owner_a"], Client())
    response = client.get("/app/locations/NoSuchLocation/")
    assert response.status_code == 404
    assert frame_ancestors(response) == [*GHL, f"https://{DOMAIN_A}"]


def test_the_page_that_signs_someone_out_is_still_framed_for_their_agency(customers, login):
    client = login(customers["owner_a"], Client())
    response = client.post("/auth/logout/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert frame_ancestors(response) == [*GHL, f"https://{DOMAIN_A}"]


def test_admin_login_and_admin_pages_cannot_be_framed(client, admin_client, customers):
    assert unframeable(client.get("/admin/login/"))
    for path in ("/admin/", "/admin/accounts/agency/", "/admin/login/"):
        assert unframeable(admin_client.get(path)), path


def test_billing_hand_offs_cannot_be_framed(customers, login, settings):
    settings.STRIPE_SECRET_KEY = ""  # not set up: the hand-off answers at once
    client = login(customers["owner_a"], Client())
    for url in ("/billing/checkout/", "/billing/portal/"):
        response = client.post(url, {"plan": "growth"})
        assert unframeable(response), url


def test_oauth_pages_cannot_be_framed_even_when_signed_in(customers, login):
    client = login(customers["owner_a"], Client())
    for url in ("/oauth/install/", "/oauth/callback/?state=x&code=y", "/oauth/installed/"):
        assert unframeable(client.get(url)), url


def test_bootstrap_allows_ghl_without_a_customer_referer(client, customers):
    for referer in ("", "https://app.gohighlevel.com/v2/location/x", "https://evil.example/x"):
        response = client.get("/", HTTP_REFERER=referer)
        assert response.status_code == 200
        assert frame_ancestors(response) == GHL
        assert "X-Frame-Options" not in response
        assert "Referer" in response["Vary"]


def test_bootstrap_allows_the_customer_domain_that_frames_it(client, customers):
    response = client.get("/", HTTP_REFERER=f"https://{DOMAIN_A}/v2/location/L1/custom-page")
    assert frame_ancestors(response) == [*GHL, f"https://{DOMAIN_A}"]
    assert DOMAIN_B not in response["Content-Security-Policy"]
    config = bootstrap_config(response)
    assert f"https://{DOMAIN_A}" in config["allowedOrigins"]
    assert f"https://{DOMAIN_B}" not in json.dumps(config)


@pytest.mark.parametrize(
    "referer",
    [
        f"http://{DOMAIN_A}/",  # not HTTPS
        f"https://{DOMAIN_A}:8443/",  # another origin
        f"https://{DOMAIN_A}.evil.example/",
        "https://[::1/",  # unparseable
        f"https://user@{DOMAIN_A}@evil.example/",
    ],
)
def test_bootstrap_ignores_referers_that_are_not_exactly_a_customer_origin(
    client, customers, referer
):
    assert frame_ancestors(client.get("/", HTTP_REFERER=referer)) == GHL


def test_an_uninstalled_agencys_domain_no_longer_frames_the_bootstrap(client, customers):
    referer = f"https://{DOMAIN_A}/"
    assert f"https://{DOMAIN_A}" in frame_ancestors(client.get("/", HTTP_REFERER=referer))
    customers["agency_a"].is_installed = False
    customers["agency_a"].save()
    assert frame_ancestors(client.get("/", HTTP_REFERER=referer)) == GHL


@pytest.mark.parametrize(
    "domain",
    [
        "evil.example; script-src *",
        "*",
        "https://app.example",
        "app.example/path",
        "app example",
        "'unsafe-inline'",
        "localhost",
    ],
)
def test_malformed_white_label_domain_never_reaches_the_header(personas, login, domain):
    personas["agency_a"].whitelabel_domain = domain
    personas["agency_a"].save()
    policy = login(personas["owner_a"]).get("/app/")["Content-Security-Policy"]
    assert domain not in policy
    assert "unsafe-inline" not in policy
    assert whitelabel_origin(domain) is None


def test_a_new_white_label_domain_applies_at_once(personas, login):
    client = login(personas["owner_a"])
    assert frame_ancestors(client.get("/app/")) == GHL
    personas["agency_a"].whitelabel_domain = "App.Fresh.Example"
    personas["agency_a"].save()
    assert frame_ancestors(client.get("/app/")) == [*GHL, "https://app.fresh.example"]


def test_dev_tools_let_our_own_origin_frame_the_app(personas, login, settings):
    settings.DEV_TOOLS = True
    assert frame_ancestors(login(personas["owner_a"]).get("/app/")) == ["'self'", *GHL]


def bootstrap_config(response) -> dict:
    html = response.content.decode()
    return json.loads(re.search(r'id="sso-config" type="application/json">(.*?)<', html).group(1))


def test_bootstrap_page_has_no_inline_script_and_lists_only_ghl_origins(client, customers):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attrs, body in scripts:
        assert 'src="' in attrs or 'type="application/json"' in attrs
        assert not body.strip() or 'type="application/json"' in attrs
    config = bootstrap_config(response)
    assert config["allowedOrigins"] == [*GHL, "http://testserver"]
    assert config["ssoUrl"] == "/auth/sso/"
    assert "js/accounts/bootstrap.js" in html


def test_bootstrap_script_checks_the_parent_and_the_origin():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static/js/accounts/bootstrap.js").read_text()
    assert "event.source !== window.parent" in script
    assert "allowed.indexOf(event.origin) === -1" in script
    assert "REQUEST_USER_DATA_RESPONSE" in script
    assert "window.parent === window" in script
