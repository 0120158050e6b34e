"""A token bucket per app and resource (one sub-account or one company), shared by every worker.

GHL allows 100 requests per 10 s and 200,000 per day per app per resource (GHL_API.md §5). The
bucket holds `capacity` tokens and refills at `rate` per second, with capacity + interval * rate
equal to the burst limit minus a safety margin, so no 10-second window (sliding or fixed) can see
more requests than GHL allows however many workers share it. A daily counter and a "blocked until"
key (set when GHL says 429) sit beside it; one Lua script checks and takes all three atomically,
using Redis's own clock so workers on different machines agree.

Without Redis (embedded mode) the same algorithm runs in process memory.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from sync.ghl.errors import RateLimited

_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local daily_limit = tonumber(ARGV[3])
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return {0, blocked - now} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= daily_limit then return {-1, tonumber(ARGV[4]) * 1000} end
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = cap ts = now end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
if tokens < 1 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
  return {0, math.ceil((1 - tokens) / rate)}
end
redis.call('HSET', KEYS[1], 't', tostring(tokens - 1), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 90000)
return {1, 0}
"""


@dataclass(frozen=True)
class Budget:
    capacity: float
    rate_per_second: float
    daily: int

    @classmethod
    def from_settings(cls) -> Budget:
        margin = settings.GHL_RATE_SAFETY_MARGIN
        usable = max(2, math.floor(settings.GHL_BURST_LIMIT * (1 - margin)))
        # A small bucket: bursts stay short and the steady rate stays close to GHL's.
        capacity = max(1, min(2, usable // 10))
        rate = (usable - capacity) / settings.GHL_BURST_INTERVAL_SECONDS
        daily = max(1, math.floor(settings.GHL_DAILY_LIMIT * (1 - margin)))
        return cls(capacity, rate, daily)


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (tomorrow - now).total_seconds()


class RateLimiter:
    """acquire() blocks until the resource may send one request, or raises RateLimited."""

    def __init__(self, budget: Budget | None = None, *, sleep=time.sleep):
        self.budget = budget or Budget.from_settings()
        self.sleep = sleep
        self.waited_seconds = 0.0

    def acquire(self, app_id: str, resource: str, deadline: float) -> None:
        while True:
            status, wait_ms = self._take(app_id, resource)
            if status == 1:
                return
            if status == -1:
                raise RateLimited("daily GHL budget used up for this resource", wait_ms / 1000)
            wait = wait_ms / 1000
            if time.monotonic() + wait > deadline:
                raise RateLimited("GHL rate budget exhausted for this call's deadline", wait)
            self.waited_seconds += wait
            self.sleep(wait)

    def block(self, app_id: str, resource: str, seconds: float) -> None:
        """Hold every worker off this resource for `seconds` (GHL said 429 / Retry-After)."""
        if seconds > 0:
            self._block(app_id, resource, seconds)

    def observe(self, app_id: str, resource: str, headers) -> None:
        """Read GHL's X-RateLimit-* headers: if GHL counts us at zero, believe GHL over our bucket
        (another installation of this app, or a worker with a stale clock, may be spending it)."""
        if headers.get("X-RateLimit-Daily-Remaining") == "0":
            self._block(app_id, resource, _seconds_to_midnight())
        elif headers.get("X-RateLimit-Remaining") == "0":
            interval_ms = _to_float(headers.get("X-RateLimit-Interval-Milliseconds"), 10_000)
            burst = _to_float(headers.get("X-RateLimit-Max"), 100) or 100
            self._block(app_id, resource, interval_ms / 1000 / burst * 10)

    @staticmethod
    def keys(app_id: str, resource: str) -> tuple[str, str, str]:
        day = datetime.now(UTC).strftime("%Y%m%d")
        base = f"ghl:rl:{app_id}:{resource}"
        return f"{base}:bucket", f"{base}:day:{day}", f"{base}:blocked"

    def _take(self, app_id: str, resource: str) -> tuple[int, int]:
        raise NotImplementedError

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        raise NotImplementedError


def _to_float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis_client, budget: Budget | None = None, *, sleep=time.sleep):
        super().__init__(budget, sleep=sleep)
        self.redis = redis_client
        self.script = redis_client.register_script(_LUA)

    def _take(self, app_id: str, resource: str) -> tuple[int, int]:
        b = self.budget
        status, wait = self.script(
            keys=list(self.keys(app_id, resource)),
            args=[b.capacity, b.rate_per_second / 1000, b.daily, int(_seconds_to_midnight())],
        )
        return int(status), max(1, int(wait)) if int(status) != 1 else 0

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        key = self.keys(app_id, resource)[2]
        until_ms = int(self.redis.time()[0] * 1000 + seconds * 1000)
        current = int(self.redis.get(key) or 0)
        if until_ms > current:
            self.redis.set(key, until_ms, px=max(1, int(seconds * 1000) + 1000))


class LocalRateLimiter(RateLimiter):
    """The embedded fallback: the same bucket, valid within one process."""

    _lock = threading.Lock()
    _buckets: dict[str, list[float]] = {}
    _daily: dict[str, int] = {}
    _blocked: dict[str, float] = {}

    def _take(self, app_id: str, resource: str) -> tuple[int, int]:
        bucket_key, day_key, block_key = self.keys(app_id, resource)
        b = self.budget
        with self._lock:
            now = time.monotonic()
            blocked = self._blocked.get(block_key, 0.0)
            if blocked > now:
                return 0, math.ceil((blocked - now) * 1000)
            if self._daily.get(day_key, 0) >= b.daily:
                return -1, int(_seconds_to_midnight() * 1000)
            tokens, ts = self._buckets.get(bucket_key, [b.capacity, now])
            tokens = min(b.capacity, tokens + (now - ts) * b.rate_per_second)
            if tokens < 1:
                self._buckets[bucket_key] = [tokens, now]
                return 0, max(1, math.ceil((1 - tokens) / b.rate_per_second * 1000))
            self._buckets[bucket_key] = [tokens - 1, now]
            self._daily[day_key] = self._daily.get(day_key, 0) + 1
            return 1, 0

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        key = self.keys(app_id, resource)[2]
        with self._lock:
            self._blocked[key] = max(self._blocked.get(key, 0.0), time.monotonic() + seconds)

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._buckets.clear()
            cls._daily.clear()
            cls._blocked.clear()


def default_limiter() -> RateLimiter:
    """The Redis limiter when Redis is configured, else the in-process one (embedded only)."""
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        return RedisRateLimiter(get_redis_connection("default"))
    return LocalRateLimiter()
