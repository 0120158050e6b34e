"""The whole sign-in as a person sees it: a real Chromium loads the GHL shell from one site and
GoCSM framed from another, signs in through postMessage and the SSO endpoint, and checks the
cookie, a reload, logout, and that a page on a non-allowed origin cannot frame the app.

The live server answers on both 127.0.0.1 and localhost: the shell is loaded from
http://127.0.0.1:<port> and the app framed from http://localhost:<port>, two different sites.
Chromium treats both as secure contexts, so the __Host-/Secure cookie works over plain HTTP here.
"""

from __future__ import annotations

import http.server
import threading

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser import app_frame, launched_chromium, shell_and_app_sites

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COOKIE = "__Host-gocsm_session"


@pytest.fixture
def owner(transactional_db, make_agency, make_user):
    # Made before Playwright starts: its sync API runs an event loop in this thread, and Django
    # refuses database calls from a thread with a running loop.
    agency = make_agency(name="BrightPath Agency")
    return make_user(agency, name="Dana Whitfield", role="owner", is_agency_owner=True)


@pytest.fixture
def browser(owner):
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def foreign_site():
    """A page on an origin that is NOT allowed to frame GoCSM; it tries anyway."""
    holder = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f'<!doctype html><iframe id="victim" src="{holder["target"]}"></iframe>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    holder["origin"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield holder
    server.shutdown()
    server.server_close()


@pytest.fixture
def sites(live_server, settings):
    return shell_and_app_sites(live_server, settings)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_sign_in_inside_the_ghl_frame_end_to_end(owner, sites, foreign_site, browser):
    shell_origin, app_origin = sites
    context = browser.new_context()
    page = context.new_page()

    with page.expect_response(lambda r: r.url == f"{app_origin}/auth/sso/") as sso_info:
        page.goto(f"{shell_origin}/dev/ghl-shell/?user={owner.pk}")
    sso = sso_info.value
    assert sso.status == 200
    raw_cookie = sso.header_value("set-cookie") or ""
    assert raw_cookie.startswith(f"{COOKIE}=")
    attributes = {a.strip().split("=")[0].lower() for a in raw_cookie.split(";")[1:]}
    assert {"httponly", "secure", "partitioned", "path"} <= attributes
    assert "samesite=none" in raw_cookie.lower()
    assert "domain" not in attributes

    # The bootstrap page navigated to the dashboard URL inside the frame.
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].length > 0", timeout=10_000
    )
    frame = app_frame(page, app_origin)
    assert frame is not None
    frame.wait_for_url(f"{app_origin}/app/", timeout=10_000)

    # The browser stored the cookie partitioned under the shell's site, with every attribute.
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "None"
    assert cookie["path"] == "/"
    assert cookie["partitionKey"] == "http://127.0.0.1"  # the shell's (GHL's) site
    cdp = context.new_cdp_session(page)
    (raw,) = [c for c in cdp.send("Network.getAllCookies")["cookies"] if c["name"] == COOKIE]
    assert raw["partitionKey"] == {"topLevelSite": "http://127.0.0.1", "hasCrossSiteAncestor": True}
    cdp.detach()

    # Inside the frame the session works, and survives reloads.
    for _ in range(2):
        response = frame.goto(f"{app_origin}/auth/me/")
        assert response.status == 200
        assert frame.locator("#me-user").inner_text() == "Dana Whitfield"
        assert frame.locator("#me-agency").inner_text() == "BrightPath Agency"
        assert frame.locator("#me-role").inner_text() == "owner"
    page.reload()
    frame = app_frame(page, app_origin)
    frame.wait_for_url(f"{app_origin}/app/", timeout=10_000)
    assert frame.goto(f"{app_origin}/auth/me/").status == 200

    # Logout ends it: the next request inside the frame is anonymous, and an anonymous page
    # (anything but the SSO bootstrap) may not even be framed.
    with frame.expect_navigation():
        frame.locator("#logout").click()
    assert frame.locator("#signed-out").is_visible()
    assert frame.evaluate("fetch('/auth/me/').then((r) => r.status)") == 401
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_RESPONSE"):
        frame.goto(f"{app_origin}/auth/me/")
    assert not [c for c in context.cookies() if c["name"] == COOKIE and c["value"]]

    # A page on an origin that is not allowed cannot frame the app (CSP frame-ancestors).
    foreign_site["target"] = f"{app_origin}/"
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "frame" in msg.text else None)
    page.goto(f"{foreign_site['origin']}/")
    page.wait_for_timeout(1500)
    framed = app_frame(page, app_origin)
    assert framed is None or not framed.locator("#sso-status").count()
    assert any("frame-ancestors" in text for text in blocked)

    # Opened directly, outside any frame, the page says where to open GoCSM from.
    page.goto(f"{app_origin}/")
    status = page.locator("#sso-status")
    page.wait_for_function(
        "() => document.getElementById('sso-status').dataset.state === 'outside'"
    )
    assert "from the menu inside GoHighLevel" in status.inner_text()
    context.close()
