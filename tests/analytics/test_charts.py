"""Charts: round y-axis ticks with the unit as title, a hover title per point or column, drawn by
the template from plain numbers, scaled to the frame with labels at the body text's size."""

import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from analytics import charts


@pytest.mark.parametrize(
    ("lo", "hi", "ticks", "decimals"),
    [
        (0, 100, [0, 25, 50, 75, 100], 0),
        (0, 8257.49, [0, 2500, 5000, 7500, 10000], 0),
        (0, 172, [0, 50, 100, 150, 200], 0),
        (0, 3, [0, 1, 2, 3], 0),
        (0, 0.9, [0, 0.25, 0.5, 0.75, 1.0], 2),
        (-120, 340, [-200, 0, 200, 400], 0),
        (5, 5, [5, 5.25, 5.5, 5.75, 6], 2),
    ],
)
def test_y_axis_ticks_fall_on_round_values_covering_the_range(lo, hi, ticks, decimals):
    got_lo, got_hi, got_ticks, got_decimals = charts.y_axis(lo, hi)
    assert got_ticks == pytest.approx(ticks)
    assert (got_lo, got_hi, got_decimals) == (
        pytest.approx(ticks[0]),
        pytest.approx(ticks[-1]),
        decimals,
    )


@pytest.mark.parametrize(
    ("hi", "ticks"),
    [
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (6, [0, 2, 4, 6]),
        (9, [0, 5, 10]),
        (172, [0, 50, 100, 150, 200]),
    ],
)
def test_counts_are_ticked_in_whole_numbers(hi, ticks):
    """One sub-account is not counted in quarters: a count's axis steps by whole numbers."""
    assert charts.y_axis(0, hi, whole=True)[2] == pytest.approx(ticks)
    assert charts.y_axis(0, hi, whole=True)[3] == 0
    one = charts.stacked_chart(
        [("2026-03-24", {"thriving": 1})], [("thriving", "T")], "Sub-accounts"
    )
    assert [text for _y, text in one["ticks"]] == ["0", "1"]


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (8257.49, 2, "8,257.49"),
        (10000, 0, "10,000"),
        (-0.001, 2, "0.00"),
        (-2, 0, "-2"),
        (0.5, 2, "0.50"),
    ],
)
def test_numbers_have_thousands_separators_and_never_read_minus_zero(value, decimals, text):
    assert charts.number(value, decimals) == text


def _svg(name: str, chart: dict, **extra) -> str:
    return render_to_string(f"analytics/_chart.html#{name}", {"chart": chart, **extra})


def test_line_chart_has_a_labelled_y_axis_and_a_hover_title_per_value():
    values = [("2026-03-01", 10.0), ("2026-03-02", None), ("2026-03-03", 8257.49)]
    svg = _svg("line", charts.line_chart(values, "USD", lo=0, decimals=2, per="USD"), aria="MRR")
    assert re.search(r'<svg class="chart[^"]*" viewBox="0 0 800 260"', svg)
    assert "width=" not in svg.split(">", 1)[0]  # scales with its container (CSS width 100 %)
    assert re.search(r'<text class="unit"[^>]*rotate\(-90[^>]*>USD</text>', svg)
    ticks = re.findall(r'<text class="tick tick-y"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["0", "2,500", "5,000", "7,500", "10,000"]
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    # One per known value; the missing day has none (and no dot).
    assert titles == ["2026-03-01: 10.00 USD", "2026-03-03: 8,257.49 USD"]
    assert svg.count("<circle") == 2
    # The x-axis names the first and the last day.
    assert ">2026-03-01</text>" in svg and ">2026-03-03</text>" in svg


def test_bar_and_stacked_charts_give_each_column_a_hover_title():
    chart = charts.bar_chart([("2026-03-01", 3), ("2026-03-02", 12)], "Sessions", per="sessions")
    bars = _svg("bars", chart)
    assert re.findall(r"<title>([^<]+)</title>", bars) == [
        "2026-03-01: 3 sessions",
        "2026-03-02: 12 sessions",
    ]
    assert ">Sessions</text>" in bars
    keys = [
        ("at_risk", "Critical"),
        ("steady", "Steady"),
        ("healthy", "Healthy"),
        ("thriving", "Thriving"),
    ]
    stacked = charts.stacked_chart(
        [("2026-03-24", {"thriving": 4, "at_risk": 1}), ("2026-03-31", {"healthy": 2})],
        keys,
        "Sub-accounts",
    )
    svg = _svg("stacked", stacked)
    assert re.findall(r"<title>([^<]+)</title>", svg) == [
        "2026-03-24: Thriving 4, Healthy 0, Steady 0, Critical 1",
        "2026-03-31: Thriving 0, Healthy 2, Steady 0, Critical 0",
    ]
    assert ">Sub-accounts</text>" in svg
    # One shape per band; the first column stacks at risk (1) under thriving (4), without gaps.
    paths = dict(re.findall(r'<path class="seg-(\w+)" d="([^"]*)"/>', svg))
    assert set(paths) == {"at_risk", "steady", "healthy", "thriving"}
    bottom = stacked["bottom"]
    at_risk = [float(v) for v in re.findall(r"[-\d.]+", paths["at_risk"])]
    thriving = [float(v) for v in re.findall(r"[-\d.]+", paths["thriving"].split("z")[0])]
    # M x,y h w v h: at risk's top + height is the plot's bottom; thriving sits right on it.
    assert at_risk[1] + at_risk[3] == pytest.approx(bottom, abs=0.1)
    assert thriving[1] + thriving[3] == pytest.approx(at_risk[1], abs=0.1)
    assert paths["steady"] == ""  # no steady sub-account in either week


def test_negative_bars_hang_below_the_zero_line():
    chart = charts.bar_chart([("a", -50), ("b", 150)], "USD")
    neg, pos = chart["bars"].rstrip("z").split("zM")
    _x, neg_y, _w, neg_h = (float(v) for v in re.findall(r"[-\d.]+", neg)[:4])
    _x, pos_y, _w, pos_h = (float(v) for v in re.findall(r"[-\d.]+", pos)[:4])
    assert neg_y == pytest.approx(chart["zero"], abs=0.1) and neg_h > 0
    assert pos_y + pos_h == pytest.approx(chart["zero"], abs=0.1)


def test_chart_labels_are_never_smaller_than_the_body_text():
    """A chart is drawn at its container's width over charts.WIDTH times its viewBox, so a label
    of f units reads f * width / WIDTH px: at least the body's 14 px in the ~900 px frame (the
    browser test measures it there) and wherever a container query makes labels smaller."""
    css = (Path(__file__).resolve().parents[2] / "static/css/analytics.css").read_text()
    plain = re.sub(r"@container[^{]*\{(?:[^{}]*\{[^}]*\})*\s*\}", "", css)
    sizes = re.findall(r"\.chart[^{]*\{[^}]*font-size:\s*([\d.]+)px", plain)
    assert sizes and all(float(s) >= 14 for s in sizes)
    assert charts.WIDTH <= 810  # a chart's width inside the 900 px frame
    queried = re.findall(
        r"@container \(min-width:\s*([\d.]+)px\)\s*\{[^{]*\.chart[^{]*\{[^}]*font-size:\s*([\d.]+)px",
        css,
    )
    assert queried
    for width, size in queried:
        assert float(size) * float(width) / charts.WIDTH >= 14


def test_each_chart_page_draws_its_chart_with_axes(personas, login, portfolio):
    portfolio(personas["agency_a"], 3, days=40)
    client = login(personas["owner_a"])
    for url, unit, points in [
        (reverse("analytics:overview"), "Sub-accounts", None),
        (reverse("analytics:logins"), "Sessions", 30),
        # 90 days asked, 40 of history: days before any MRR are not plotted (no zeros).
        (reverse("analytics:revenue") + "?days=90", "USD", 40),
        (reverse("analytics:location-detail", args=["Loc0001"]) + "?days=30", "Score", 30),
    ]:
        body = client.get(url).content.decode()
        svg = body[
            body.index('<svg class="chart') : body.index("</svg>", body.index('<svg class="chart'))
        ]
        assert f">{unit}</text>" in svg, url
        if points is not None:
            assert svg.count("<title>") >= points, url
            if unit == "USD":
                assert svg.count("<circle") == 40, url
                # The axis starts at the first figure, and the page says why the range is shorter.
                assert "revenue figures start on" in body, url
                ticks = re.findall(r'class="tick tick-x"[^>]*>([\d-]+)<', svg)
                days = re.findall(r"<title>([\d-]+):", svg)
                assert ticks[0] == days[0] and ticks[-1] == days[-1] and len(days) == 40, url
