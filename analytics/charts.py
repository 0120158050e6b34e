"""Chart geometry: where each line, bar, tick and label of a dashboard chart goes, as plain numbers
and text. templates/analytics/_chart.html draws the SVG from it; nothing here writes markup.

Every chart is drawn in a viewBox WIDTH units wide and scaled to its container's width. WIDTH is
about the width a chart gets inside the ~900 px GHL frame, so one unit is about one CSS pixel
there and the labels (sized in CSS) read at the body text's size; wider screens scale them up.
No script, no inline style: the CSP allows neither, and SVG attributes suffice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 800
HEIGHT = 260
TOP, RIGHT, BOTTOM = 12, 10, 30  # room above, right of and under the plot (x labels)
CHAR_W = 8.5  # width of one label character at the axis font size (14 units), rounded up
X_LABELS = 5  # at most this many labels along the x-axis, first and last included


@dataclass
class Point:
    x: float
    y: float
    label: str
    value: float | None


def line(values: list[tuple[str, float | None]], width=600, height=160, lo=None, hi=None) -> dict:
    """Polyline geometry for (label, value) pairs; None values break nothing, they are skipped.
    Used for the sparklines, whose points are stored with the current state (spark_points)."""
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


def spark_points(values: list[float | None]) -> str:
    """The sparkline's polyline points, stored with the current state ("" = no score)."""
    chart = sparkline(values)
    return "" if chart["empty"] else chart["points"]


# --- Axes ---------------------------------------------------------------------------------------


def _nice_step(span: float, count: int, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals; for
    counts (`whole`) a whole number: one sub-account is not counted in quarters."""
    raw = span / max(count, 1)
    if whole and raw <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    return next(m * power for m in multiples if m * power >= raw)


def _decimals(step: float) -> int:
    """Decimals needed to write every multiple of `step` exactly (2.5 -> 1, 0.25 -> 2, 500 -> 0)."""
    for d in range(4):
        if abs(round(step, d) - step) < 1e-9:
            return d
    return 4


def number(value: float, decimals: int = 0) -> str:
    """1234.5 -> '1,234.50' with decimals=2: thousands separators, never '-0'."""
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def y_axis(
    lo: float, hi: float, count: int = 4, whole: bool = False
) -> tuple[float, float, list[float], int]:
    """(lo, hi, ticks, decimals): the range widened to round ticks, about `count` intervals
    (whole numbers only when `whole`)."""
    if hi <= lo:
        hi = lo + 1
    step = _nice_step(hi - lo, count, whole)
    lo = math.floor(lo / step + 1e-9) * step
    hi = math.ceil(hi / step - 1e-9) * step
    ticks = [lo + k * step for k in range(round((hi - lo) / step) + 1)]
    return lo, hi, ticks, _decimals(step)


def _frame(lo: float, hi: float, unit: str, count: int = 4, whole: bool = False) -> dict:
    """The plot area and the y-axis (ticks at round values, labelled, with the unit as title)."""
    lo, hi, ticks, decimals = y_axis(lo, hi, count, whole)
    texts = [number(t, decimals) for t in ticks]
    left = round(28 + CHAR_W * max(len(t) for t in texts))
    plot_h = HEIGHT - TOP - BOTTOM
    frame = {
        "width": WIDTH,
        "height": HEIGHT,
        "left": left,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "plot_w": WIDTH - RIGHT - left,
        "plot_h": plot_h,
        "lo": lo,
        "hi": hi,
        "unit": unit,
        "unit_x": 14,
        "unit_y": round(TOP + plot_h / 2, 1),
        "label_y": HEIGHT - 8,
        "empty": False,
    }
    # (y, text) per tick, its label right-aligned at tick_x; the grid lines as one path.
    frame["ticks"] = [(frame_y(frame, t), text) for t, text in zip(ticks, texts, strict=True)]
    frame["tick_x"] = left - 6
    frame["grid"] = "".join(f"M{left},{y}H{frame['right']}" for y, _t in frame["ticks"])
    return frame


def frame_y(frame: dict, value: float) -> float:
    span = frame["hi"] - frame["lo"]
    return round(frame["top"] + frame["plot_h"] * (1 - (value - frame["lo"]) / span), 1)


def _x_labels(frame: dict, centres: list[float], labels: list[str]) -> list[dict]:
    """Up to X_LABELS labels under the plot, spread evenly, first and last included."""
    n = len(labels)
    if n == 0:
        return []
    shown = sorted({round(k * (n - 1) / (X_LABELS - 1)) for k in range(X_LABELS)}) if n > 1 else [0]
    out = []
    for i in shown:
        anchor = "middle"
        x = centres[i]
        if i == 0 and n > 1:
            anchor, x = "start", max(x - 4, frame["left"])
        elif i == n - 1 and n > 1:
            anchor, x = "end", min(x + 4, frame["right"])
        out.append((round(x, 1), anchor, labels[i]))
    return out


def _empty(unit: str) -> dict:
    return {"empty": True, "width": WIDTH, "height": HEIGHT, "unit": unit}


# --- Charts -------------------------------------------------------------------------------------
# Each chart gives its shapes as geometry (SVG path data, points) and one hover target per point
# or column with its title, the hover text ("2026-03-31: 8,257.49 USD"). A point's position is
# one "x y" pair: a template variable costs more than the markup around it, and a year of daily
# points is hundreds of them.


def _title(label: str, text: str, per: str) -> str:
    return f"{label}: {text} {per}" if per else f"{label}: {text}"


def _rect(x: float, y: float, w: float, h: float) -> str:
    """Path data of a rectangle (one column of a bar chart)."""
    return f"M{x:.1f},{y:.1f}h{w:.1f}v{h:.1f}h{-w:.1f}z"


def line_chart(
    values: list[tuple[str, float | None]],
    unit: str,
    lo: float | None = None,
    hi: float | None = None,
    decimals: int = 0,
    per: str = "",
) -> dict:
    """A line over (label, value) pairs with a dot per value whose hover title gives its label,
    its number and `per` (e.g. "USD"). None values are skipped (the line joins their
    neighbours). `unit` titles the y-axis."""
    nums = [v for _l, v in values if v is not None]
    if not nums:
        return _empty(unit)
    frame = _frame(min(nums) if lo is None else lo, max(nums) if hi is None else hi, unit)
    n = len(values)
    step = frame["plot_w"] / max(n - 1, 1)
    xs = [round(frame["left"] + (i * step if n > 1 else frame["plot_w"] / 2), 1) for i in range(n)]
    at = [(xs[i], frame_y(frame, v)) for i, (_label, v) in enumerate(values) if v is not None]
    titles = [_title(label, number(v, decimals), per) for label, v in values if v is not None]
    frame.update(
        points=[(f"{x} {y}", title) for (x, y), title in zip(at, titles, strict=True)],
        polyline=" ".join(f"{x},{y}" for x, y in at),
        dense=n > 120,
        x_labels=_x_labels(frame, xs, [label for label, _v in values]),
        markers=[],
        x_of={label: x for (label, _v), x in zip(values, xs, strict=True)},
    )
    return frame


def add_marker(chart: dict, label: str, title: str) -> None:
    """A dashed vertical line at the point labelled `label` (e.g. a settings change)."""
    x = chart.get("x_of", {}).get(label)
    if x is not None:
        chart["markers"].append({"x": x, "title": title})


def _column(frame: dict, x: float, slot: float) -> str:
    """Path data of a column's hover target: its slot, the plot's whole height."""
    return _rect(x, frame["top"], slot, frame["plot_h"])


def _columns(frame: dict, count: int) -> tuple[float, float, float]:
    """(slot width, bar width, gap) for `count` columns across the plot."""
    slot = frame["plot_w"] / count
    gap = min(2.0, slot * 0.15)
    return slot, max(slot - 2 * gap, 1), gap


def bar_chart(rows: list[tuple[str, float]], unit: str, decimals: int = 0, per: str = "") -> dict:
    """Columns, one per (label, value), negative values below the zero line; each column's
    whole height is a hover target giving its label and number."""
    if not rows:
        return _empty(unit)
    values = [v for _l, v in rows]
    frame = _frame(min(min(values), 0), max(max(values), 0), unit, whole=decimals == 0)
    slot, width, gap = _columns(frame, len(rows))
    zero = frame_y(frame, 0)
    shapes, columns = [], []
    for i, (label, v) in enumerate(rows):
        x = frame["left"] + i * slot
        y = frame_y(frame, v)
        if y != zero:
            shapes.append(_rect(x + gap, min(y, zero), width, abs(zero - y)))
        columns.append((_column(frame, x, slot), _title(label, number(v, decimals), per)))
    frame.update(
        bars="".join(shapes),
        columns=columns,
        zero=zero,
        x_labels=_x_labels(
            frame,
            [frame["left"] + (i + 0.5) * slot for i in range(len(rows))],
            [lb for lb, _ in rows],
        ),
    )
    return frame


def stacked_chart(rows: list[tuple[str, dict[str, int]]], keys: list[tuple[str, str]], unit: str):
    """Stacked columns, one per (label, {key: count}), segments in the order of `keys`
    ((key, label) pairs, bottom first), drawn as one shape per key; each column is a hover
    target listing its counts, the top segment first (as the legend reads)."""
    if not rows:
        return _empty(unit)
    frame = _frame(0, max(sum(c.values()) for _l, c in rows) or 1, unit, whole=True)
    slot, width, gap = _columns(frame, len(rows))
    shapes: dict[str, list[str]] = {key: [] for key, _name in keys}
    columns = []
    for i, (label, counts) in enumerate(rows):
        x = frame["left"] + i * slot
        total = 0
        for key, _name in keys:
            n = counts.get(key, 0)
            if n:
                top, bottom = frame_y(frame, total + n), frame_y(frame, total)
                shapes[key].append(_rect(x + gap, top, width, bottom - top))
            total += n
        listed = ", ".join(f"{name} {counts.get(key, 0)}" for key, name in reversed(keys))
        columns.append((_column(frame, x, slot), f"{label}: {listed}"))
    frame.update(
        segments=[(key, "".join(shapes[key])) for key, _name in keys],
        columns=columns,
        x_labels=_x_labels(
            frame,
            [frame["left"] + (i + 0.5) * slot for i in range(len(rows))],
            [lb for lb, _ in rows],
        ),
    )
    return frame
