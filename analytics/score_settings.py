"""The weights and band floors each day is scored with: those in force on that day.

ScoreSettings holds the current settings; each WeightChange marks a change (its `day` is the
first day the `new` settings apply, `old` the settings before). A day is scored with the `new`
of the latest marker on or before it (on one day, the latest `at` wins), with the current
settings from the latest marker's day on, and with the first marker's `old` before any marker.
Without markers, every day uses the current settings. So history before a change keeps its
scores, whoever recomputes it and whenever.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from analytics import scores
from analytics.models import ScoreSettings, WeightChange


def _filled(weights: dict | None, bands: dict | None) -> tuple[dict, dict]:
    """Defaults for anything missing; unknown keys ignored."""
    w, b = dict(scores.DEFAULT_WEIGHTS), dict(scores.DEFAULT_BANDS)
    w.update({k: v for k, v in (weights or {}).items() if k in w})
    b.update({k: v for k, v in (bands or {}).items() if k in b})
    return w, b


def settings_for(agency_id: int) -> tuple[dict, dict]:
    """(weights, bands) of the agency now, defaults filled in."""
    row = ScoreSettings.objects.for_agency(agency_id).first()
    return _filled(row.weights, row.bands) if row is not None else _filled(None, None)


FLOORS = ("thriving", "healthy", "steady")


def by_day(agency_id: int, days: list[date]) -> tuple[np.ndarray, np.ndarray]:
    """(COMPONENTS x day) weights and (FLOORS x day) band floors in force on each of `days`."""
    markers = list(
        WeightChange.objects.for_agency(agency_id)
        .order_by("day", "at", "pk")
        .values_list("day", "old", "new")
    )
    in_force = [settings_for(agency_id)] * len(days)
    if markers:
        first_day, old, _new = markers[0]
        changes = [(first_day, _settings_in(old))]
        changes += [(day, _settings_in(new)) for day, _old, new in markers[:-1]]
        changes.append((markers[-1][0], in_force[0]))
        # Each change applies from its day on; a later one on the same day overrides it.
        in_force = [changes[0][1]] * len(days)
        for day, settings in changes[1:]:
            for k, d in enumerate(days):
                if d >= day:
                    in_force[k] = settings
    weights = np.array([[w[c] for w, _b in in_force] for c in scores.COMPONENTS])
    floors = np.array([[b[f] for _w, b in in_force] for f in FLOORS])
    return weights, floors


def _settings_in(marker_side) -> tuple[dict, dict]:
    """A marker's `old` or `new` ({"weights": ..., "bands": ...}), defaults filled in."""
    side = marker_side if isinstance(marker_side, dict) else {}
    weights, bands = side.get("weights"), side.get("bands")
    return _filled(
        weights if isinstance(weights, dict) else None, bands if isinstance(bands, dict) else None
    )
