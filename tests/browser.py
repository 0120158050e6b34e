"""What every browser test shares: Debian's Chromium, its flags on this closed network, the GHL
shell and the app on two different sites, and finding the app's frame."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def launched_chromium():
    """A headless Chromium through Playwright; skips the test when Chromium is not installed."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's Chromium is not installed (scripts/ci-system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def shell_and_app_sites(live_server, settings) -> tuple[str, str]:
    """Serve the dev GHL shell from 127.0.0.1 and the app from localhost: two sites, so the
    app is framed cross-site as inside GHL. Returns (shell_origin, app_origin)."""
    port = urlsplit(live_server.url).port
    shell_origin, app_origin = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    settings.DEV_TOOLS = True
    settings.DEV_APP_ORIGIN = app_origin
    # In production this is GHL's app origin; here the shell plays GHL.
    settings.GHL_FRAME_ORIGINS = [shell_origin]
    return shell_origin, app_origin


def app_frame(page, app_origin):
    for frame in page.frames:
        if frame.url.startswith(app_origin):
            return frame
    return None


def signed_sites(live_server, settings, secret: str = "browser-test-shared-secret"):
    """shell_and_app_sites with the shell signing its SSO payloads with `secret`."""
    shell_origin, app_origin = shell_and_app_sites(live_server, settings)
    settings.GHL_SSO_SHARED_SECRET = secret
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = ""
    return shell_origin, app_origin


def owner_with_portfolio(make_agency, make_user, locations: int, days: int):
    """BrightPath Agency's owner, as the pulls leave them (GHL's user list confirmed this agency
    admin: SSO requires that), over a built portfolio. Made before Playwright starts: its sync
    API runs an event loop in the test's thread, and Django refuses database calls from it."""
    from django.utils import timezone

    from tests.analytics.conftest import build_portfolio

    agency = make_agency(name="BrightPath Agency")
    person = make_user(
        agency,
        name="Dana Whitfield",
        role="owner",
        is_agency_owner=True,
        ghl_type="agency",
        ghl_role="admin",
        confirmed_by_ghl_at=timezone.now(),
    )
    build_portfolio(agency, locations, days=days)
    return person


def open_app(page, shell_origin: str, app_origin: str, user_pk: int):
    """Open the dev GHL shell as this person and wait for the app's frame to land on /app/;
    returns that frame (None when it never did)."""
    page.goto(f"{shell_origin}/dev/ghl-shell/?user={user_pk}")
    frame = None
    for _ in range(100):
        frame = app_frame(page, app_origin)
        if frame is not None and frame.url == f"{app_origin}/app/":
            return frame
        page.wait_for_timeout(200)
    return None
