"""How close the shared GHL rate budget runs to GHL's limits, with several worker processes.

    .venv/bin/python bench/ghl_limits.py --workers 4 --requests 1200

Starts the fake GHL with GHL's real limits (100 per 10 s per resource), installs one agency,
then W processes each make requests with the agency token (all on the company bucket, the
bottleneck of a real pull). Prints requests, elapsed seconds, the floor (the least time those
requests need under GHL's limits), their ratio and the 429s received. Uses Redis when REDIS_URL
is set (the fleet case); otherwise each process has its own in-memory budget, which is only
correct with --workers 1.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gocsm.settings")
os.environ.setdefault("DEBUG", "1")


class _Tokens:
    def __init__(self, company_id, token):
        self.company_id, self.token = company_id, token

    def company_token(self):
        return self.token

    def refresh_company_token(self, rejected):
        raise RuntimeError("token expired during the benchmark")


def _worker(args):
    base_url, company_id, token, client_id, n = args
    import django

    django.setup()
    from django.conf import settings

    settings.GHL_API_BASE_URL = base_url
    settings.GHL_CLIENT_ID = client_id
    settings.GHL_APP_ID = client_id.split("-", 1)[0]
    settings.GHL_CALL_DEADLINE_SECONDS = 3600
    from sync.ghl.client import GHLClient

    client = GHLClient(_Tokens(company_id, token))
    for _ in range(n):
        client.company()
    return client.requests_made, client.rate_limited


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1200)
    args = parser.parse_args()
    import django

    django.setup()
    import requests

    from sync.fakeghl import FakeGHL
    from sync.ghl.ratelimit import Budget
    from sync.scopes import SCOPES

    fake = FakeGHL(seed=3, locations=10)
    url = fake.start()
    company = fake.company_ids[0]
    code = fake.state.issue_code(fake.client_id, company, "http://x/cb", " ".join(SCOPES), "U")
    token = requests.post(
        f"{url}/oauth/token",
        timeout=10,
        data={
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "grant_type": "authorization_code",
            "code": code,
        },
    ).json()["access_token"]
    if os.environ.get("REDIS_URL"):
        from django_redis import get_redis_connection

        for key in get_redis_connection("default").scan_iter("ghl:rl:*"):
            get_redis_connection("default").delete(key)
    per = args.requests // args.workers
    started = time.monotonic()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        results = pool.map(_worker, [(url, company, token, fake.client_id, per)] * args.workers)
    elapsed = time.monotonic() - started
    made = sum(r[0] for r in results)
    got_429 = sum(r[1] for r in results)
    # Floor: the first 100 go at once, then 100 per 10 s.
    floor = max(0.0, (made - 100) / 100 * 10)
    budget = Budget.from_settings()
    print(
        f"workers={args.workers} requests={made} elapsed={elapsed:.1f}s floor={floor:.1f}s "
        f"ratio={elapsed / floor if floor else float('nan'):.3f} 429s_received={got_429} "
        f"fake_429s={fake.rate_limited_count} budget={budget.per_window}/"
        f"{budget.window_seconds:g}s redis={'yes' if os.environ.get('REDIS_URL') else 'no'}"
    )
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
