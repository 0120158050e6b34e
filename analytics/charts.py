"""Server-side SVG chart geometry. Templates draw the shapes; numbers stay in <title> and tables.

No script, no inline style: the CSP allows neither, and SVG presentation attributes suffice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import mark_safe

from analytics.markup import escape


@dataclass
class Point:
    x: float
    y: float
    label: str
    value: float | None


def line(values: list[tuple[str, float | None]], width=600, height=160, lo=None, hi=None) -> dict:
    """Polyline geometry for (label, value) pairs; None values break nothing, they are skipped."""
    nums = [v for _l, v in values if v is not None]
    if not nums:
        return {"points": "", "dots": [], "width": width, "height": height, "empty": True}
    lo = min(nums) if lo is None else lo
    hi = max(nums) if hi is None else hi
    span = (hi - lo) or 1
    pad = 6
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    dots = []
    for i, (label, v) in enumerate(values):
        if v is None:
            continue
        x = pad + i * step
        y = pad + (height - 2 * pad) * (1 - (v - lo) / span)
        dots.append(Point(round(x, 1), round(y, 1), label, v))
    return {
        "points": " ".join(f"{d.x},{d.y}" for d in dots),
        "dots": dots,
        "width": width,
        "height": height,
        "empty": False,
        "lo": lo,
        "hi": hi,
    }


def sparkline(values: list[float | None], width=90, height=24) -> dict:
    return line([("", v) for v in values], width=width, height=height, lo=0, hi=100)


def stacked_bars(rows: list[tuple[str, dict[str, int]]], keys: list[str], width=600, height=160):
    """Stacked columns: one per (label, {key: count}); each segment carries its key for a CSS
    class and its count for the <title>."""
    if not rows:
        return {"bars": [], "width": width, "height": height, "empty": True}
    top = max(sum(c.values()) for _l, c in rows) or 1
    bw = width / len(rows)
    bars = []
    for i, (label, counts) in enumerate(rows):
        y = height
        segs = []
        for k in keys:
            h = height * counts.get(k, 0) / top
            y -= h
            segs.append({"key": k, "y": round(y, 1), "h": round(h, 1), "n": counts.get(k, 0)})
        bars.append(
            {"x": round(i * bw + 1, 1), "w": round(max(bw - 2, 1), 1), "label": label, "segs": segs}
        )
    return {"bars": bars, "width": width, "height": height, "empty": False}


def bars(rows: list[tuple[str, float]], width=600, height=160) -> dict:
    """Simple columns, negative values drawn below the zero line."""
    if not rows:
        return {"bars": [], "width": width, "height": height, "empty": True, "zero": height}
    hi = max(max(v for _l, v in rows), 0)
    lo = min(min(v for _l, v in rows), 0)
    span = (hi - lo) or 1
    zero = height * hi / span
    bw = width / len(rows)
    out = []
    for i, (label, v) in enumerate(rows):
        h = height * abs(v) / span
        y = zero - h if v >= 0 else zero
        out.append(
            {
                "x": round(i * bw + 1, 1),
                "w": round(max(bw - 2, 1), 1),
                "y": round(y, 1),
                "h": round(h, 1),
                "label": label,
                "value": v,
                "neg": v < 0,
            }
        )
    return {"bars": out, "width": width, "height": height, "empty": False, "zero": round(zero, 1)}


# Markup. The shapes are written here rather than in template loops: a year of daily points is
# hundreds of elements, and a template loop costs more per element than the whole page budget
# allows. Every label goes through escape(); numbers are formatted here.


AXIS = 14  # room under a chart for its first and last labels


def _svg_open(chart: dict, css: str, aria: str) -> str:
    return (
        f'<svg class="{css}" viewBox="0 0 {chart["width"]} {chart["height"] + AXIS}" role="img" '
        f'aria-label="{escape(aria)}">'
    )


def _x_labels(chart: dict, first: str, last: str) -> str:
    y = chart["height"] + AXIS - 3
    return (
        f'<text class="axis" x="0" y="{y}">{escape(first)}</text>'
        f'<text class="axis" x="{chart["width"]}" y="{y}" text-anchor="end">{escape(last)}</text>'
    )


def _y_grid(chart: dict, fmt: str) -> str:
    """Faint lines at the bottom, middle and top of the value range, each labelled."""
    pad, h = 6, chart["height"]
    out = []
    for frac in (0.0, 0.5, 1.0):
        value = chart["lo"] + (chart["hi"] - chart["lo"]) * frac
        y = round(pad + (h - 2 * pad) * (1 - frac), 1)
        out.append(
            f'<line class="grid" x1="0" x2="{chart["width"]}" y1="{y}" y2="{y}"/>'
            f'<text class="axis" x="2" y="{max(y - 2, 9)}">{fmt.format(value)}</text>'
        )
    return "".join(out)


def line_svg(
    chart: dict, aria: str, stroke: str = "#2563eb", r: float = 2.5, unit: str = "", fmt="{:g}"
) -> str:
    """A line chart with a dot per value whose <title> gives the day and the number."""
    if chart["empty"]:
        return ""
    labels = [d.label for d in chart["dots"]]
    parts = [
        _svg_open(chart, "chart", aria),
        _y_grid(chart, fmt),
        _x_labels(chart, labels[0], labels[-1]),
        *(
            f'<line class="marker" x1="{m["x"]}" x2="{m["x"]}" y1="0" y2="{chart["height"]}" '
            f'stroke="#d97706" stroke-dasharray="4 3"><title>{escape(m["title"])}</title></line>'
            for m in chart.get("markers", ())
        ),
        f'<polyline points="{chart["points"]}" fill="none" stroke="{stroke}" stroke-width="2"/>',
    ]
    suffix = f" {escape(unit)}" if unit else ""
    parts.extend(
        f'<circle cx="{d.x}" cy="{d.y}" r="{r}" fill="{stroke}"><title>{escape(d.label)}: '
        f"{fmt.format(d.value)}{suffix}</title></circle>"
        for d in chart["dots"]
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 every label above is escaped


def spark_svg(values: list[float | None]) -> str:
    chart = sparkline(values)
    if chart["empty"]:
        return mark_safe('<span class="muted">—</span>')
    return mark_safe(  # noqa: S308 numbers only
        f'<svg class="spark" width="{chart["width"]}" height="{chart["height"]}" '
        f'viewBox="0 0 {chart["width"]} {chart["height"]}" role="img"><title>Score, last 30 '
        f'days</title><polyline points="{chart["points"]}" fill="none" stroke="#2563eb" '
        f'stroke-width="1.5"/></svg>'
    )


def bars_svg(chart: dict, aria: str) -> str:
    if chart["empty"]:
        return ""
    parts = [_svg_open(chart, "chart", aria)]
    parts.append(_x_labels(chart, chart["bars"][0]["label"], chart["bars"][-1]["label"]))
    parts.extend(
        f'<rect class="bar" x="{b["x"]}" y="{b["y"]}" width="{b["w"]}" height="{b["h"]}">'
        f"<title>{escape(b['label'])}: {b['value']:g}</title></rect>"
        for b in chart["bars"]
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 labels escaped


def stacked_svg(chart: dict, aria: str) -> str:
    if chart["empty"]:
        return ""
    parts = [_svg_open(chart, "chart", aria)]
    parts.append(_x_labels(chart, chart["bars"][0]["label"], chart["bars"][-1]["label"]))
    for bar in chart["bars"]:
        parts.append("<g>")
        parts.extend(
            f'<rect class="seg-{s["key"]}" x="{bar["x"]}" y="{s["y"]}" width="{bar["w"]}" '
            f'height="{s["h"]}"><title>{escape(bar["label"])}: {s["key"]} {s["n"]}</title></rect>'
            for s in bar["segs"]
        )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 labels escaped


def spark_points(values: list[float | None]) -> str:
    """The sparkline's polyline points, stored with the current state ("" = no score)."""
    chart = sparkline(values)
    return "" if chart["empty"] else chart["points"]


def spark_points_svg(points: str) -> str:
    if not points:
        return mark_safe('<span class="muted">—</span>')
    return mark_safe(  # noqa: S308 numbers only (spark_points)
        '<svg class="spark" width="90" height="24" viewBox="0 0 90 24" role="img"><title>Score, '
        f'last 30 days</title><polyline points="{escape(points)}" fill="none" stroke="#2563eb" '
        'stroke-width="1.5"/></svg>'
    )
