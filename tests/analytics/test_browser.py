"""The dashboards as an agency owner sees them: a real Chromium opens the dev GHL shell, signs in
through it, and reads the overview and a sub-account's page inside the ~900 px wide frame.

Screenshots land in var/ (var/analytics-overview.png, var/analytics-detail.png) for a person to
look at; the assertions check what must be there and that nothing overflows the frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import launched_chromium, open_app, owner_with_portfolio, signed_sites

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VAR = Path(__file__).resolve().parents[2] / "var"


@pytest.fixture
def owner(transactional_db, make_agency, make_user):
    return owner_with_portfolio(make_agency, make_user, 8, days=45)


@pytest.fixture
def browser(owner):
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def sites(live_server, settings):
    return signed_sites(live_server, settings)


def _fits(frame) -> bool:
    """Nothing wider than the frame except inside the scrollable table wrappers."""
    return frame.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


def _smallest_chart_text_px(frame) -> float:
    """The smallest chart label as drawn: its CSS size times the scale its chart is drawn at."""
    return frame.evaluate(
        """() => Math.min(...[...document.querySelectorAll('svg.chart text')].map(t =>
            parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a))"""
    )


def _body_text_px(frame) -> float:
    return frame.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")


def _tables_readable(frame) -> list[str]:
    """Tables wider than their box, unless the box scrolls sideways and keeps the first
    column in view (sticky): such a table is readable, any other is cut off."""
    return frame.evaluate(
        """() => [...document.querySelectorAll('table')].filter(t => {
            const box = t.parentElement;
            if (t.scrollWidth <= box.clientWidth + 1) return false;
            const scrolls = getComputedStyle(box).overflowX === 'auto';
            const cell = t.querySelector('tbody tr > :first-child');
            const sticky = cell && getComputedStyle(cell).position === 'sticky';
            return !(scrolls && sticky);
        }).map(t => t.closest('section').querySelector('h2').textContent)"""
    )


def _hover_titles(frame) -> list[str]:
    """What the pointer shows over the middle point or column of each chart: the <title> of
    the element under it (the browser's tooltip), found as the pointer would find it."""
    return frame.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].map(svg => {
            const targets = svg.querySelectorAll('.points circle, .columns path');
            const target = targets[Math.floor(targets.length / 2)];
            const box = target.getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            const title = hit && hit.closest('svg.chart') && hit.querySelector(':scope > title');
            return title ? title.textContent : null;
        })"""
    )


def _check_charts(frame) -> None:
    """Every chart scales with its frame, names its y-axis, and reads at the body's size."""
    charts = frame.locator("svg.chart")
    assert charts.count() >= 1
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("viewBox") and not chart.get_attribute("width")
        assert chart.locator("text.unit").text_content().strip()
        assert chart.locator("title").count() >= 1
    assert _smallest_chart_text_px(frame) >= _body_text_px(frame) - 0.5
    for title in _hover_titles(frame):
        assert title and re.match(r"\d{4}-\d\d-\d\d: ", title), title


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_owner_reads_the_overview_and_a_sub_account_inside_the_ghl_frame(owner, sites, browser):
    shell_origin, app_origin = sites
    VAR.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 940, "height": 1400})
    frame = open_app(page, shell_origin, app_origin, owner.pk)
    page.screenshot(path=str(VAR / "analytics-signin.png"))
    assert frame is not None and frame.url == f"{app_origin}/app/", frame and frame.url
    frame.wait_for_selector("section.tiles")
    width = page.locator("iframe").first.bounding_box()["width"]
    assert 860 <= width <= 940

    # Tiles: four bands, MRR, at risk (the flagged set), MRR at risk, active users, logins.
    assert frame.locator("section.tiles .tile").count() == 9
    tiles = frame.locator("section.tiles").inner_text()
    labels = ("Thriving", "Healthy", "Steady", "Critical", "At risk", "Total MRR", "MRR at risk")
    for label in labels:
        assert label in tiles
    # The sub-account table lists the eight sub-accounts with a score each.
    rows = frame.locator("table.subaccounts tbody tr")
    assert rows.count() == 8
    assert frame.locator("table.subaccounts tbody .band").count() == 8
    assert frame.locator("svg.spark").count() == 8
    assert _fits(frame)
    _check_charts(frame)
    assert frame.locator("svg.chart text.unit").first.text_content() == "Sub-accounts"
    page.screenshot(path=str(VAR / "analytics-overview.png"), full_page=True)

    # A sub-account's page opens inside the frame with its score history.
    with frame.expect_navigation():
        frame.get_by_role("link", name="Sub 0003").first.click()
    assert frame.url == f"{app_origin}/app/locations/Loc0003/"
    assert "Sub 0003" in frame.locator("h1").inner_text()
    assert frame.get_by_role("heading", name="Score history").is_visible()
    assert frame.locator("svg.chart polyline").count() == 1
    assert _fits(frame)
    _check_charts(frame)
    # One hover title per scored day of the chart's 90 days (the portfolio has 45).
    assert frame.locator("svg.chart .points title").count() == 45
    assert _tables_readable(frame) == []
    page.screenshot(path=str(VAR / "analytics-detail.png"), full_page=True)

    # Every other page fits the frame too, its charts readable and its tables whole or
    # scrolling with their first column in view.
    for path, unit in [
        ("/app/at-risk/", None),
        ("/app/adoption/", None),
        ("/app/logins/", "Sessions"),
        ("/app/revenue/", "USD"),
        ("/app/settings/", None),
    ]:
        frame.goto(f"{app_origin}{path}")
        frame.wait_for_selector("h1")
        assert _fits(frame), path
        assert _tables_readable(frame) == [], path
        if unit:
            _check_charts(frame)
            assert frame.locator("svg.chart text.unit").first.text_content() == unit
        page.screenshot(
            path=str(VAR / f"analytics{path.rstrip('/').replace('/', '-')}.png"), full_page=True
        )
    # The revenue table scrolls sideways with the month in view when it is wider than the frame.
    frame.goto(f"{app_origin}/app/revenue/?days=365")
    month = frame.locator("table.sticky-first tbody tr > :first-child").first
    assert month.evaluate("c => getComputedStyle(c).position") == "sticky"
