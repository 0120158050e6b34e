"""Benchmark: building the demo portfolio of `make run` (sync/demo.py) on the embedded defaults.

    .venv/bin/python bench/demo.py [--days 90] [--locations 60]

Builds into a fresh temporary data directory (SQLite, local-memory cache, eager Celery, exactly
as `make run`) and prints the wall and CPU seconds of the build, the machine's load, and where
the CPU went: the sub-account pulls (GHL requests through the fake, fact writes, run bookkeeping),
token mints, the agency step, the analytics recompute of each pull and the logins written.
Target: `make run` ready in <= 3 minutes from a fresh clone, of which the virtualenv takes up to
~40 s, so the build should stay under ~2 minutes on this 2-core machine when it is not busy.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--locations", type=int, default=None)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="gocsm-demo-bench-")
    os.environ.update(GOCSM_DATA_DIR=data_dir, DEBUG="1", GOCSM_DEV_TOOLS="1")
    for name in ("DATABASE_URL", "ANALYTICS_DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)  # the embedded defaults, as `make run`
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gocsm.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from sync import demo

    for alias in settings.DATABASES:
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    cpu = _time_phases()
    kwargs = {k: v for k, v in (("days", args.days), ("locations", args.locations)) if v}
    wall0, cpu0 = time.monotonic(), time.process_time()
    summary = demo.build_demo_portfolio(**kwargs)
    wall, total = time.monotonic() - wall0, time.process_time() - cpu0
    demo._RUNNING.pop().stop()
    print(summary)
    print(f"data: {data_dir}")
    print(f"build: {wall:.1f} s wall, {total:.1f} s CPU; load average {os.getloadavg()[0]:.2f}")
    for label, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {label:32s} {seconds:6.1f} s CPU ({100 * seconds / total:4.1f} %)")
    return 0


def _time_phases() -> dict[str, float]:
    """CPU seconds spent in each phase (exclusive of the phases nested in it)."""
    import analytics.current_state as current_state
    import analytics.tasks as analytics_tasks
    import sync.demo as demo
    import sync.pulls as pulls
    import sync.runs as runs

    spent: dict[str, float] = defaultdict(float)
    stack: list[float] = []

    def wrap(module, name: str, label: str) -> None:
        original = getattr(module, name)

        @functools.wraps(original)
        def timed(*a, **kw):
            start = time.process_time()
            stack.append(0.0)
            try:
                return original(*a, **kw)
            finally:
                nested = stack.pop()
                took = time.process_time() - start
                spent[label] += took - nested
                if stack:
                    stack[-1] += took

        setattr(module, name, timed)

    wrap(pulls, "pull_location", "sub-account pulls: levels")
    wrap(pulls, "_pull_flows", "sub-account pulls: counts by day")
    wrap(pulls, "_write", "sub-account pulls: fact writes")
    wrap(pulls, "_mark_pulled", "sub-account pulls: pull state")
    wrap(runs, "record_location", "run bookkeeping")
    wrap(pulls, "mint_location_tokens", "location tokens minted ahead")
    wrap(pulls, "pull_agency_overview", "agency step")
    wrap(analytics_tasks, "refresh_agency_days", "analytics recompute")
    wrap(current_state, "refresh", "analytics: current state")
    wrap(demo, "_write_activity", "logins written")
    return spent


if __name__ == "__main__":
    sys.exit(main())
