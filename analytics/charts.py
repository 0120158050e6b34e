"""Server-side SVG chart geometry. Templates draw the shapes; numbers stay in <title> and tables.

No script, no inline style: the CSP allows neither, and SVG presentation attributes suffice.
"""

from __future__ import annotations

from dataclasses import dataclass


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
