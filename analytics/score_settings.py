"""The weights and band floors a day is scored with."""

from __future__ import annotations

import numpy as np

from analytics import scores
from analytics.models import ScoreSettings


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


def as_arrays(weights: dict, bands: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(COMPONENTS x n) weights and (thriving, healthy, steady x n) floors, the same every day."""
    w = np.array([[weights[c]] for c in scores.COMPONENTS]).repeat(n, axis=1)
    f = np.array([[bands[b]] for b in ("thriving", "healthy", "steady")]).repeat(n, axis=1)
    return w, f
