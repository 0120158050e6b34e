"""The Custom JS tracker: how it is served, what its source may touch, and what a browser sends."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings

from analytics.models import UserActivityDay
from sync.activity_flush import flush_activity_counters
from tests.activity.conftest import payload_for
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.urls("tests.activity.urls")
SOURCE = Path(django_settings.BASE_DIR) / "static" / "js" / "tracker" / "tracker.js"


def test_the_tracker_is_javascript_with_our_app_id_and_endpoint_baked_in(client, db, settings):
    settings.PUBLIC_ORIGIN = "https://gocsm.example.com"
    response = client.get("/t/tracker.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.content.decode()
    assert 'var APP_ID = "app0123456789abcdef";' in body
    assert 'var ENDPOINT = "https://gocsm.example.com/ingest/activity/";' in body
    assert "var HEARTBEAT_MS = 60000;" in body
    assert "__GOCSM_" not in body


def test_the_versioned_url_is_cached_for_a_year_and_others_briefly(client, db):
    plain = client.get("/t/tracker.js")
    assert plain["Cache-Control"] == "public, max-age=3600"
    version = plain["ETag"].strip('"')
    pinned = client.get(f"/t/tracker.js?v={version}")
    assert pinned["Cache-Control"] == "public, max-age=31536000, immutable"
    assert pinned.content == plain.content
    stale = client.get("/t/tracker.js?v=0000")
    assert stale["Cache-Control"] == "public, max-age=3600"
    assert client.get("/t/tracker.js", HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304


def test_the_tracker_reads_only_the_path_and_sends_only_whitelisted_fields():
    source = SOURCE.read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)  # comments may mention them
    for forbidden in (
        "location.search",
        "location.href",
        "location.hash",
        ".search",
        ".href",
        "document.title",
        "innerHTML",
        "innerText",
        "textContent",
        "querySelector",
        "document.cookie",
        "localStorage",
        "eval(",
        "Function(",
        'setTimeout("',
        "document.referrer",
    ):
        assert forbidden not in code, forbidden
    assert code.count("window.location.pathname") == 1
    body = re.search(r"JSON\.stringify\(\{(.*?)\}\)", code, flags=re.S).group(1)
    keys = re.findall(r"(\w+):", body)
    assert keys == ["payload", "location_id", "feature", "event", "v"]
    assert 'credentials: "omit"' in code and 'referrerPolicy: "no-referrer"' in code
    assert '"Content-Type": "text/plain;charset=UTF-8"' in code


GHL_PAGE = """<!doctype html><html><head><script>
window.__asked = [];
window.exposeSessionDetails = function (appId) {
  window.__asked.push(appId);
  return new Promise(function (resolve) { setTimeout(function () { resolve(%s); }, 5); });
};
</script><script src="https://gocsm.test/t/tracker.js"></script></head>
<body><h1>Contact: Jane Roe, jane@customer.example</h1></body></html>"""


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Chromium is not installed")
def test_in_chromium_the_tracker_sends_load_route_and_heartbeat_beacons(
    client, tenant, settings, store
):
    from playwright.sync_api import sync_playwright

    settings.PUBLIC_ORIGIN = "https://gocsm.test"
    script = client.get("/t/tracker.js").content
    payload = payload_for(tenant["agency"], kind="agency", user_id="UserStaff001")
    beacons = []

    def handle(route, request):
        url = request.url
        if url.startswith("https://app.gohighlevel.com/"):
            route.fulfill(status=200, content_type="text/html", body=GHL_PAGE % json.dumps(payload))
        elif url.startswith("https://gocsm.test/t/tracker.js"):
            route.fulfill(status=200, content_type="text/javascript", body=script)
        elif url == "https://gocsm.test/ingest/activity/":
            beacons.append(
                {"method": request.method, "headers": request.headers, "body": request.post_data}
            )
            # Answered here like our endpoint answers GHL; the bodies go through the real view
            # below (Django's test database is not reachable from Playwright's dispatch loop).
            route.fulfill(
                status=204, headers={"Access-Control-Allow-Origin": "https://app.gohighlevel.com"}
            )
        else:
            route.abort()

    def wait_for(count):
        deadline = time.monotonic() + 10
        while len(beacons) < count and time.monotonic() < deadline:
            page.evaluate("1")
            time.sleep(0.05)
        assert len(beacons) == count, beacons

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.clock.install()
            page.route("**/*", handle)
            page.goto(
                "https://app.gohighlevel.com/v2/location/LocAlpha0001/contacts/detail/"
                "ContactXyz123?search=jane%40customer.example#notes"
            )
            page.clock.run_for(1000)
            wait_for(1)
            # A query-only change is not a new area: no beacon.
            page.evaluate("history.replaceState({}, '', location.pathname + '?page=2')")
            page.clock.run_for(1000)
            page.evaluate(
                "history.pushState({}, '', '/v2/location/LocAlpha0001/opportunities/list?x=1')"
            )
            page.clock.run_for(1000)
            wait_for(2)
            page.clock.run_for(60_000)
            wait_for(3)
            page.evaluate(
                "history.pushState({}, '', '/v2/location/LocBravo0002/automation/workflows')"
            )
            page.clock.run_for(1000)
            wait_for(4)
            asked = page.evaluate("window.__asked")
        finally:
            browser.close()

    sent = [json.loads(b["body"]) for b in beacons]
    assert [(s["event"], s["location_id"], s["feature"]) for s in sent] == [
        ("load", "LocAlpha0001", "contacts"),
        ("route", "LocAlpha0001", "opportunities"),
        ("heartbeat", "LocAlpha0001", "opportunities"),
        ("route", "LocBravo0002", "workflows"),
    ]
    for beacon, body in zip(beacons, sent, strict=True):
        assert set(body) == {"payload", "location_id", "feature", "event", "v"}
        assert body["payload"] == payload and body["v"] == 1
        assert beacon["method"] == "POST"
        assert beacon["headers"]["content-type"].startswith("text/plain")
        assert "referer" not in beacon["headers"] and "cookie" not in beacon["headers"]
        for leak in ("ContactXyz123", "jane", "search", "page=2", "x=1", "notes", "Jane Roe"):
            assert leak not in beacon["body"]
    # The payload is asked for with our app id, again when the sub-account changes.
    assert asked == ["app0123456789abcdef", "app0123456789abcdef"]
    # Replayed through the real endpoint at the times the fake clock sent them.
    start = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    for seconds, beacon in zip((1, 3, 63, 64), beacons, strict=True):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            answer = client.post(
                "/ingest/activity/",
                data=beacon["body"],
                content_type=beacon["headers"]["content-type"],
                HTTP_ORIGIN=beacon["headers"]["origin"],
            )
        assert answer.status_code == 204
    flush_activity_counters()
    stored = {r.location_ghl_id: r for r in UserActivityDay.objects.for_agency(tenant["agency"])}
    assert set(stored) == {"LocAlpha0001", "LocBravo0002"}
    assert stored["LocAlpha0001"].is_agency_staff is True
    assert stored["LocAlpha0001"].minutes_opportunities == 1
