"""The shared rate budget keeps a fleet of workers under GHL's limits: zero 429s."""

from __future__ import annotations

import threading
import time

import pytest

from sync.ghl.ratelimit import Budget, LocalRateLimiter, default_limiter


@pytest.fixture
def tight_fake(fake_ghl, settings):
    # GHL's shape (burst per window) scaled down so the test takes seconds.
    settings.GHL_BURST_LIMIT = 10
    settings.GHL_BURST_INTERVAL_SECONDS = 1.0
    settings.GHL_RATE_SAFETY_MARGIN = 0.0
    fake_ghl.state.burst, fake_ghl.state.interval = 10, 1.0
    return fake_ghl


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_trigger_a_429(installed, tight_fake):
    from django.db import connections

    from sync.credentials import client_for_agency

    clients, errors = [], []

    def worker():
        try:
            client = client_for_agency(installed)
            clients.append(client)
            for _ in range(9):
                client.company()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    assert errors == []
    assert tight_fake.rate_limited_count == 0
    assert sum(c.rate_limited for c in clients) == 0
    assert len(tight_fake.requests("/companies")) == 36
    # 36 requests at 10 per second: at least ~2.6 s, and not much more than that.
    assert 2.0 <= elapsed < 8.0


def test_budget_leaves_the_safety_margin(settings):
    settings.GHL_BURST_LIMIT, settings.GHL_DAILY_LIMIT = 100, 200_000
    settings.GHL_RATE_SAFETY_MARGIN = 0.04
    budget = Budget.from_settings()
    assert budget.per_window == 96
    assert budget.daily == 192_000


def test_a_block_holds_every_client_off_the_resource(settings):
    settings.GHL_BURST_LIMIT = 100
    LocalRateLimiter.reset()
    limiter = default_limiter()
    slept = []
    limiter.sleep = slept.append
    limiter.block("app", "res", 0.5)
    from sync.ghl.errors import RateLimited

    with pytest.raises(RateLimited):
        limiter.acquire("app", "res", deadline=time.monotonic() + 0.1)


def test_daily_budget_exhausted_raises_at_once(settings):
    settings.GHL_DAILY_LIMIT = 3
    settings.GHL_RATE_SAFETY_MARGIN = 0.0
    LocalRateLimiter.reset()
    limiter = default_limiter()
    for _ in range(3):
        limiter.acquire("app", "daily-res", deadline=time.monotonic() + 5)
    from sync.ghl.errors import RateLimited

    with pytest.raises(RateLimited) as info:
        limiter.acquire("app", "daily-res", deadline=time.monotonic() + 5)
    assert info.value.retry_after > 0


def test_a_resources_budget_keys_share_one_redis_cluster_slot():
    # The acquire script takes the window, the day's count and the block of one resource at once;
    # Redis Cluster runs a script only over keys of one slot (docs/scaling.md §5).
    from redis.crc import key_slot

    from sync.ghl.ratelimit import RedisRateLimiter

    keys = RedisRateLimiter.keys("app123", "LocAbc")
    assert all(k.startswith("ghl:rl:{app123:LocAbc}:") for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert key_slot(keys[0].encode()) == key_slot(b"app123:LocAbc")
