"""Recompute rollups, scores, flags and alerts for the bench agency over 365 days.

Prints the whole recompute time, its phases and the peak resident memory (RSS) of the recompute.
Targets on this machine: 2,000 sub-accounts in <= 30 s; peak RSS <= 1 GB at 8,000 sub-accounts.
Run: DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/rollup.py [N]
N sub-accounts: the argument, else BENCH_LOCATIONS, else 2,000. The first run at a size builds
its data (8,000 x 365 days takes several minutes and ~3 GB of disk).
"""

import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

if len(sys.argv) > 1:
    os.environ["BENCH_LOCATIONS"] = str(int(sys.argv[1]))

from benchdata import LAST_DAY, N_DAYS, N_LOCATIONS, build, vacuum

from analytics.pipeline import refresh_agency_days

STATUS = Path("/proc/self/status")


def reset_peak_rss() -> bool:
    """Start the kernel's peak-RSS count (VmHWM) afresh, so building the data is not measured
    (Linux >= 4.0); False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_mb(field: str) -> float | None:
    """VmRSS (now) or VmHWM (peak) of this process in MB, from /proc."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


agency = build()
vacuum()
measured_alone = reset_peak_rss()
before = rss_mb("VmRSS")
first = LAST_DAY - timedelta(days=N_DAYS - 1)
start = time.perf_counter()
result = refresh_agency_days(agency.pk, first, LAST_DAY)
elapsed = time.perf_counter() - start
rows = result.scores + result.flags + result.alerts + result.rollup_rows
print(f"sub-accounts: {N_LOCATIONS}, days: {N_DAYS}")
print(
    f"scores written: {result.scores}, flags: {result.flags}, alerts: {result.alerts}, "
    f"rollup rows: {result.rollup_rows}"
)
print(f"whole recompute: {elapsed:.1f} s (target at 2,000 sub-accounts: <= 30 s)")
print("phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
print(f"scores/s: {result.scores / elapsed:,.0f}; all rows/s: {rows / elapsed:,.0f}")
peak = rss_mb("VmHWM") if measured_alone else None
if peak is None:  # not Linux: the process's peak since it started, build included
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process (data build included): {peak:,.0f} MB")
else:
    print(
        f"peak RSS during the recompute: {peak:,.0f} MB (target <= 1,024 MB); "
        f"RSS before it: {before:,.0f} MB"
    )
