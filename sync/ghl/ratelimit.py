"""GHL's rate limits, enforced on our side and shared by every worker on every machine.

GHL allows 100 requests per 10 s and 200,000 per day per app per resource (one sub-account or
one company; GHL_API.md §5). We keep a budget per app and resource in Redis: a token bucket whose
tokens come back exactly one window after the request that spent them finished (a sliding-window
log in a sorted set). So a resource can burst to the full allowance and still never put more than
the limit minus a safety margin into any 10-second window, however many workers share it: every
request GHL sees arriving within a window was taken before the window's end and finished after
its start, so all of them were in our log together. The margin covers clock drift and anything
else spending the same budget. A
daily counter and a "blocked until" key (set when GHL says 429) sit beside it; one Lua script
checks and takes all three atomically, on Redis's own clock so machines agree.

Without Redis (embedded mode) the same algorithm runs in process memory.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from sync.ghl.errors import RateLimited

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local daily_limit = tonumber(ARGV[3])
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return {0, blocked - now} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= daily_limit then return {-1, tonumber(ARGV[4]) * 1000} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now + 1)}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window * 2 + 60000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 90000)
return {1, 0}
"""

# The request finished: its token now returns one window after this moment, not after it was
# taken, so a slow or queued request can never let the next window overfill at GHL's end.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Budget:
    window_seconds: float
    per_window: int
    daily: int

    @classmethod
    def from_settings(cls) -> Budget:
        margin = settings.GHL_RATE_SAFETY_MARGIN
        return cls(
            window_seconds=settings.GHL_BURST_INTERVAL_SECONDS,
            per_window=max(1, math.floor(settings.GHL_BURST_LIMIT * (1 - margin))),
            daily=max(1, math.floor(settings.GHL_DAILY_LIMIT * (1 - margin))),
        )


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (tomorrow - now).total_seconds()


def _to_float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class RateLimiter:
    """acquire() blocks until the resource may send one request (or raises RateLimited) and
    returns a ticket; release(ticket) once the answer is in."""

    def __init__(self, budget: Budget | None = None, *, sleep=time.sleep):
        self.budget = budget or Budget.from_settings()
        self.sleep = sleep
        self.waited_seconds = 0.0

    def acquire(self, app_id: str, resource: str, deadline: float) -> str:
        ticket = secrets.token_hex(8)
        while True:
            status, wait_ms = self._take(app_id, resource, ticket)
            if status == 1:
                return ticket
            if status == -1:
                raise RateLimited("daily GHL budget used up for this resource", wait_ms / 1000)
            wait = wait_ms / 1000
            if time.monotonic() + wait > deadline:
                raise RateLimited("GHL rate budget exhausted for this call's deadline", wait)
            self.waited_seconds += wait
            self.sleep(wait)

    def release(self, app_id: str, resource: str, ticket: str) -> None:
        self._release(app_id, resource, ticket)

    def block(self, app_id: str, resource: str, seconds: float) -> None:
        """Hold every worker off this resource for `seconds` (GHL said 429 / Retry-After)."""
        if seconds > 0:
            self._block(app_id, resource, seconds)

    def observe(self, app_id: str, resource: str, headers) -> None:
        """Believe GHL's X-RateLimit-* headers over our own count when GHL says zero: another
        installation of the app, or something outside this limiter, may be spending the budget."""
        if headers.get("X-RateLimit-Daily-Remaining") == "0":
            self._block(app_id, resource, _seconds_to_midnight())
        elif headers.get("X-RateLimit-Remaining") == "0":
            interval = _to_float(headers.get("X-RateLimit-Interval-Milliseconds"), 10_000) / 1000
            self._block(app_id, resource, interval / 10)

    @staticmethod
    def keys(app_id: str, resource: str) -> tuple[str, str, str]:
        day = datetime.now(UTC).strftime("%Y%m%d")
        # One Redis Cluster hash tag per (app, resource): the Lua script takes all three keys,
        # so they must share a slot (docs/scaling.md §5).
        base = f"ghl:rl:{{{app_id}:{resource}}}"
        return f"{base}:window", f"{base}:day:{day}", f"{base}:blocked"

    def _take(self, app_id: str, resource: str, ticket: str) -> tuple[int, int]:
        raise NotImplementedError

    def _release(self, app_id: str, resource: str, ticket: str) -> None:
        raise NotImplementedError

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        raise NotImplementedError


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis_client, budget: Budget | None = None, *, sleep=time.sleep):
        super().__init__(budget, sleep=sleep)
        self.redis = redis_client
        self.acquire_script = redis_client.register_script(_ACQUIRE)
        self.release_script = redis_client.register_script(_RELEASE)

    def _take(self, app_id: str, resource: str, ticket: str) -> tuple[int, int]:
        b = self.budget
        status, wait = self.acquire_script(
            keys=list(self.keys(app_id, resource)),
            args=[
                int(b.window_seconds * 1000),
                b.per_window,
                b.daily,
                int(_seconds_to_midnight()),
                ticket,
            ],
        )
        return int(status), int(wait)

    def _release(self, app_id: str, resource: str, ticket: str) -> None:
        self.release_script(keys=[self.keys(app_id, resource)[0]], args=[ticket])

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        key = self.keys(app_id, resource)[2]
        secs, micros = self.redis.time()
        until_ms = int(secs * 1000 + micros // 1000 + seconds * 1000)
        if until_ms > int(self.redis.get(key) or 0):
            self.redis.set(key, until_ms, px=max(1, int(seconds * 1000) + 1000))


class LocalRateLimiter(RateLimiter):
    """The embedded fallback: the same budget, valid within one process."""

    _lock = threading.Lock()
    _windows: dict[str, dict[str, float]] = {}
    _daily: dict[str, int] = {}
    _blocked: dict[str, float] = {}

    def _take(self, app_id: str, resource: str, ticket: str) -> tuple[int, int]:
        window_key, day_key, block_key = self.keys(app_id, resource)
        b = self.budget
        with self._lock:
            now = time.monotonic()
            blocked = self._blocked.get(block_key, 0.0)
            if blocked > now:
                return 0, math.ceil((blocked - now) * 1000)
            if self._daily.get(day_key, 0) >= b.daily:
                return -1, int(_seconds_to_midnight() * 1000)
            window = self._windows.setdefault(window_key, {})
            for k in [k for k, at in window.items() if at <= now - b.window_seconds]:
                del window[k]
            if len(window) >= b.per_window:
                oldest = min(window.values())
                return 0, max(1, math.ceil((oldest + b.window_seconds - now) * 1000) + 1)
            window[ticket] = now
            self._daily[day_key] = self._daily.get(day_key, 0) + 1
            return 1, 0

    def _release(self, app_id: str, resource: str, ticket: str) -> None:
        with self._lock:
            window = self._windows.get(self.keys(app_id, resource)[0], {})
            if ticket in window:
                window[ticket] = time.monotonic()

    def _block(self, app_id: str, resource: str, seconds: float) -> None:
        key = self.keys(app_id, resource)[2]
        with self._lock:
            self._blocked[key] = max(self._blocked.get(key, 0.0), time.monotonic() + seconds)

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._windows.clear()
            cls._daily.clear()
            cls._blocked.clear()


def default_limiter() -> RateLimiter:
    """The Redis limiter when Redis is configured, else the in-process one (embedded only)."""
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        return RedisRateLimiter(get_redis_connection("default"))
    return LocalRateLimiter()


__all__ = ["Budget", "LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "default_limiter"]
