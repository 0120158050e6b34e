"""Recompute rollups, scores, flags and alerts for the 2,000-sub-account agency over 365 days.

Prints rows/s and the whole recompute time. Target: whole recompute <= 30 s on this machine.
Run: DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/rollup.py
"""

import time
from datetime import timedelta

from benchdata import LAST_DAY, N_DAYS, build, vacuum

from analytics.pipeline import refresh_agency_days

agency = build()
vacuum()
first = LAST_DAY - timedelta(days=N_DAYS - 1)
start = time.perf_counter()
result = refresh_agency_days(agency.pk, first, LAST_DAY)
elapsed = time.perf_counter() - start
rows = result.scores + result.flags + result.alerts + result.rollup_rows
print(f"sub-accounts: 2000, days: {N_DAYS}")
print(
    f"scores written: {result.scores}, flags: {result.flags}, alerts: {result.alerts}, "
    f"rollup rows: {result.rollup_rows}"
)
print(f"whole recompute: {elapsed:.1f} s (target <= 30 s)")
print("phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
print(f"scores/s: {result.scores / elapsed:,.0f}; all rows/s: {rows / elapsed:,.0f}")
