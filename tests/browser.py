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
