"""Who may frame GoCSM (CSP frame-ancestors) and the bootstrap page GHL frames."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.framing import allowed_parent_origins, whitelabel_origin

pytestmark = pytest.mark.django_db


def frame_ancestors(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive = next(d.strip() for d in policy.split(";") if "frame-ancestors" in d)
    return directive.split()[1:]


def test_ghl_origins_and_installed_white_label_domains_may_frame_us(client, make_agency, settings):
    settings.GHL_FRAME_ORIGINS = ["https://app.gohighlevel.com", "https://app.leadconnectorhq.com"]
    make_agency(whitelabel_domain="app.brightpath.example")
    make_agency(whitelabel_domain="crm.northstar.example", is_installed=False)
    ancestors = frame_ancestors(client.get("/"))
    assert ancestors == [
        "'self'",
        "https://app.gohighlevel.com",
        "https://app.leadconnectorhq.com",
        "https://app.brightpath.example",
    ]


def test_protected_and_error_pages_carry_the_same_policy(client, make_agency):
    make_agency(whitelabel_domain="app.brightpath.example")
    assert "https://app.brightpath.example" in frame_ancestors(client.get("/auth/me/"))
    assert "https://app.brightpath.example" in frame_ancestors(client.get("/nope/"))


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
def test_malformed_white_label_domain_never_reaches_the_header(client, make_agency, domain):
    make_agency(whitelabel_domain=domain)
    policy = client.get("/")["Content-Security-Policy"]
    assert domain not in policy
    assert "unsafe-inline" not in policy
    assert whitelabel_origin(domain) is None


def test_new_white_label_domain_applies_at_once(client, make_agency):
    agency = make_agency()
    assert "https://app.fresh.example" not in frame_ancestors(client.get("/"))
    agency.whitelabel_domain = "App.Fresh.Example"
    agency.save()
    assert "https://app.fresh.example" in frame_ancestors(client.get("/"))
    agency.is_installed = False
    agency.save()
    assert "https://app.fresh.example" not in frame_ancestors(client.get("/"))


def test_origins_are_cached_between_requests(make_agency):
    make_agency(whitelabel_domain="app.one.example")
    allowed_parent_origins()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            allowed_parent_origins()
    assert len(queries) == 0


def test_bootstrap_page_has_no_inline_script_and_lists_allowed_origins(client, make_agency):
    make_agency(whitelabel_domain="app.brightpath.example")
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attrs, body in scripts:
        assert 'src="' in attrs or 'type="application/json"' in attrs
        assert not body.strip() or 'type="application/json"' in attrs
    config = json.loads(re.search(r'id="sso-config" type="application/json">(.*?)<', html).group(1))
    assert "https://app.brightpath.example" in config["allowedOrigins"]
    assert "https://app.gohighlevel.com" in config["allowedOrigins"]
    assert config["ssoUrl"] == "/auth/sso/"
    assert "js/accounts/bootstrap.js" in html


def test_bootstrap_script_checks_the_parent_and_the_origin():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static/js/accounts/bootstrap.js").read_text()
    assert "event.source !== window.parent" in script
    assert "allowed.indexOf(event.origin) === -1" in script
    assert "REQUEST_USER_DATA_RESPONSE" in script
    assert "window.parent === window" in script
