"""Where activity counters live: Redis in production, process memory in embedded mode.

One beacon is one atomic step (a Lua script in Redis, one round trip): take a token from the
user's rate bucket, decide whether a new session starts, credit the time since the user's previous
beacon in that sub-account, and mark the user-day dirty for the flush. Nothing per beacon is kept:
only the running totals below, which expire a few days after their day.

Layout (prefix `gocsm:act:`):
- `day:{agency}:{day}` hash, per `{loc}|{user}`: `|s` sessions, `|ms:{feature}` active
  milliseconds, `|staff` 0/1, `|n` a version bumped by every beacon;
- `last:{agency}:{loc}:{user}` hash (ts, day, feature) of the previous beacon, for session gaps;
- `rl:{agency}:{user}` token bucket; `stats` hash of rejection counts by reason code;
- `rl:{agency}:{bucket}` other token buckets (take_token; the NPS prompt's `nps:{user}`);
- `dirty` hash `{agency}|{day}|{loc}|{user}` -> version not yet written to the analytics database.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from analytics.models import FEATURES

PREFIX = "gocsm:act:"
DIRTY_KEY = PREFIX + "dirty"
STATS_KEY = PREFIX + "stats"
FLUSH_LOCK_KEY = PREFIX + "flush-lock"
RATE_LIMITED = "rate_limited"
BATCH = 500


class CounterStoreUnavailable(Exception):
    """The counter store cannot be reached; nothing was counted."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One accepted beacon, reduced to what the counters need."""

    agency_id: int
    day: str  # ISO date in the agency's timezone
    location_ghl_id: str
    user_ghl_id: str
    feature: str
    is_agency_staff: bool
    now_ms: int


@dataclass(frozen=True, slots=True)
class Limits:
    session_gap_ms: int
    credit_cap_ms: int
    counter_ttl_s: int
    burst: int
    refill_per_ms: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            session_gap_ms=settings.ACTIVITY_SESSION_GAP_SECONDS * 1000,
            credit_cap_ms=settings.ACTIVITY_HEARTBEAT_SECONDS * 1000,
            counter_ttl_s=settings.ACTIVITY_COUNTER_TTL_SECONDS,
            burst=settings.ACTIVITY_RATE_BURST,
            refill_per_ms=settings.ACTIVITY_RATE_PER_MINUTE / 60_000,
        )


@dataclass(frozen=True, slots=True)
class UserDayTotals:
    member: str
    agency_id: int
    day: str
    location_ghl_id: str
    user_ghl_id: str
    sessions: int
    ms_by_feature: dict[str, int]
    is_agency_staff: bool
    version: int


def member_of(agency_id: int, day: str, location_ghl_id: str, user_ghl_id: str) -> str:
    return f"{agency_id}|{day}|{location_ghl_id}|{user_ghl_id}"


def _split(member: str) -> tuple[int, str, str, str]:
    agency, day, loc, user = member.split("|")
    return int(agency), day, loc, user


def _totals_from(member: str, fields: dict[str, int | None]) -> UserDayTotals | None:
    if not fields.get("n"):
        return None  # expired or never written
    agency_id, day, loc, user = _split(member)
    return UserDayTotals(
        member=member,
        agency_id=agency_id,
        day=day,
        location_ghl_id=loc,
        user_ghl_id=user,
        sessions=int(fields.get("s") or 0),
        ms_by_feature={f: int(fields.get(f"ms:{f}") or 0) for f in FEATURES},
        is_agency_staff=bool(int(fields.get("staff") or 0)),
        version=int(fields["n"] or 0),
    )


_FIELDS = ("s", "staff", "n", *(f"ms:{f}" for f in FEATURES))

# KEYS: last, day hash, dirty, bucket, stats.
# ARGV: now_ms, day, "{loc}|{user}", staff, feature, gap_ms, cap_ms, counter_ttl_s, burst,
#       refill_per_ms, dirty member.
_RECORD_LUA = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[9])
local rate = tonumber(ARGV[10])
local b = redis.call('HMGET', KEYS[4], 't', 'ts')
local tokens = burst
if b[1] then
  tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)
end
if tokens < 1 then
  redis.call('HINCRBY', KEYS[5], 'rate_limited', 1)
  return 0
end
redis.call('HSET', KEYS[4], 't', string.format('%.6f', tokens - 1), 'ts', ARGV[1])
redis.call('PEXPIRE', KEYS[4], math.ceil(burst / rate) + 1000)
local prev = redis.call('HMGET', KEYS[1], 'ts', 'day', 'f')
local pts = tonumber(prev[1])
local gap = tonumber(ARGV[6])
local m = ARGV[3]
local session = 0
if (not pts) or prev[2] ~= ARGV[2] or now - pts >= gap then
  session = 1
  redis.call('HINCRBY', KEYS[2], m .. '|s', 1)
end
if pts and now > pts and now - pts < gap then
  local credit = math.min(now - pts, tonumber(ARGV[7]))
  redis.call('HINCRBY', KEYS[2], m .. '|ms:' .. (prev[3] or ARGV[5]), credit)
end
redis.call('HSET', KEYS[2], m .. '|staff', ARGV[4])
local version = redis.call('HINCRBY', KEYS[2], m .. '|n', 1)
redis.call('EXPIRE', KEYS[2], ARGV[8])
if (not pts) or now >= pts then
  redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'day', ARGV[2], 'f', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], gap * 2)
redis.call('HSET', KEYS[3], ARGV[11], version)
return 1 + session
"""

# Remove dirty marks whose version is still the one just written; a beacon that arrived since
# bumped the version, so its member stays dirty for the next flush.
_FORGET_LUA = """
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
"""

# Unmark user-days whose counters expired (their version field is gone).
_FORGET_EXPIRED_LUA = """
for i = 1, #ARGV, 3 do
  if redis.call('HEXISTS', ARGV[i + 1], ARGV[i + 2]) == 0 then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 1
"""


# KEYS: bucket, stats. ARGV: now_ms, burst, refill_per_ms.
_TAKE_LUA = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = burst
if b[1] then
  tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)
end
if tokens < 1 then
  redis.call('HINCRBY', KEYS[2], 'rate_limited', 1)
  return 0
end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens - 1), 'ts', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return 1
"""


class RedisCounterStore:
    def __init__(self, url: str):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = settings.REDIS_TIMEOUT_SECONDS
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One quick retry covers a pooled connection that died with a Redis restart; more
            # would only hold the request while Redis is down.
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._record = self._redis.register_script(_RECORD_LUA)
        self._forget = self._redis.register_script(_FORGET_LUA)
        self._forget_expired = self._redis.register_script(_FORGET_EXPIRED_LUA)
        self._take = self._redis.register_script(_TAKE_LUA)

    def _call(self, fn, *args, **kwargs):
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise CounterStoreUnavailable(type(exc).__name__) from exc

    def record(self, tick: Tick, limits: Limits) -> int:
        """0 = rate limited (nothing counted), 1 = counted, 2 = counted and a session started."""
        a, loc, user = tick.agency_id, tick.location_ghl_id, tick.user_ghl_id
        keys = [
            f"{PREFIX}last:{a}:{loc}:{user}",
            f"{PREFIX}day:{a}:{tick.day}",
            DIRTY_KEY,
            f"{PREFIX}rl:{a}:{user}",
            STATS_KEY,
        ]
        args = [
            tick.now_ms,
            tick.day,
            f"{loc}|{user}",
            int(tick.is_agency_staff),
            tick.feature,
            limits.session_gap_ms,
            limits.credit_cap_ms,
            limits.counter_ttl_s,
            limits.burst,
            repr(limits.refill_per_ms),
            member_of(a, tick.day, loc, user),
        ]
        return int(self._call(self._record, keys=keys, args=args))

    def take_token(
        self, agency_id: int, bucket: str, burst: int, refill_per_ms: float, now_ms: int
    ) -> bool:
        """Take one token of an agency's bucket; False (nothing taken) when it is empty."""
        keys = [f"{PREFIX}rl:{agency_id}:{bucket}", STATS_KEY]
        return bool(self._call(self._take, keys=keys, args=[now_ms, burst, repr(refill_per_ms)]))

    def count_rejection(self, reason: str) -> None:
        self._call(self._redis.hincrby, STATS_KEY, reason, 1)

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._call(self._redis.hgetall, STATS_KEY).items()}

    def dirty_members(self) -> Iterator[str]:
        cursor = 0
        while True:
            cursor, found = self._call(self._redis.hscan, DIRTY_KEY, cursor, count=BATCH)
            yield from found
            if not cursor:
                return

    def all_members(self) -> Iterator[str]:
        cursor = 0
        while True:
            cursor, keys = self._call(self._redis.scan, cursor, match=f"{PREFIX}day:*", count=BATCH)
            for key in keys:
                agency, day = key[len(PREFIX) + 4 :].split(":", 1)
                for field in self._call(self._redis.hkeys, key):
                    if field.endswith("|n"):
                        loc, user = field[:-2].split("|")
                        yield member_of(int(agency), day, loc, user)
            if not cursor:
                return

    def totals(self, members: list[str]) -> list[UserDayTotals | None]:
        pipe = self._redis.pipeline(transaction=False)
        for member in members:
            agency, day, loc, user = _split(member)
            pipe.hmget(f"{PREFIX}day:{agency}:{day}", [f"{loc}|{user}|{f}" for f in _FIELDS])
        rows = self._call(pipe.execute)
        return [
            _totals_from(m, dict(zip(_FIELDS, row, strict=True)))
            for m, row in zip(members, rows, strict=True)
        ]

    def forget_if_unchanged(self, written: list[tuple[str, int]]) -> None:
        args: list = []
        for member, version in written:
            args += [member, str(version)]
        if args:
            self._call(self._forget, keys=[DIRTY_KEY], args=args)

    def forget_expired(self, members: list[str]) -> None:
        args: list = []
        for member in members:
            agency, day, loc, user = _split(member)
            args += [member, f"{PREFIX}day:{agency}:{day}", f"{loc}|{user}|n"]
        if args:
            self._call(self._forget_expired, keys=[DIRTY_KEY], args=args)

    def flush_lock(self, seconds: int) -> bool:
        return bool(self._call(self._redis.set, FLUSH_LOCK_KEY, "1", nx=True, ex=seconds))

    def release_flush_lock(self) -> None:
        self._call(self._redis.delete, FLUSH_LOCK_KEY)

    def keys(self) -> list[str]:
        return sorted(self._call(lambda: list(self._redis.scan_iter(match=f"{PREFIX}*"))))


class MemoryCounterStore:
    """The same algorithm in one process, for embedded mode (demo, plain test run) only.

    TTLs are not emulated beyond dropping days older than the counter TTL on flush.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._days: dict[tuple[int, str], dict[str, int]] = {}
        self._last: dict[tuple[int, str, str], tuple[int, str, str]] = {}
        self._buckets: dict[tuple[int, str], tuple[float, int]] = {}
        self._dirty: dict[str, int] = {}
        self._stats: dict[str, int] = {}
        self._flushing = False

    def record(self, tick: Tick, limits: Limits) -> int:
        a, loc, user, now = tick.agency_id, tick.location_ghl_id, tick.user_ghl_id, tick.now_ms
        with self._lock:
            tokens, ts = self._buckets.get((a, user), (float(limits.burst), now))
            tokens = min(limits.burst, tokens + max(0, now - ts) * limits.refill_per_ms)
            if tokens < 1:
                self._stats[RATE_LIMITED] = self._stats.get(RATE_LIMITED, 0) + 1
                return 0
            self._buckets[(a, user)] = (tokens - 1, now)
            day = self._days.setdefault((a, tick.day), {})
            m = f"{loc}|{user}"
            prev = self._last.get((a, loc, user))
            session = 0
            if prev is None or prev[1] != tick.day or now - prev[0] >= limits.session_gap_ms:
                session = 1
                day[f"{m}|s"] = day.get(f"{m}|s", 0) + 1
            if prev is not None and prev[0] < now < prev[0] + limits.session_gap_ms:
                field = f"{m}|ms:{prev[2]}"
                day[field] = day.get(field, 0) + min(now - prev[0], limits.credit_cap_ms)
            day[f"{m}|staff"] = int(tick.is_agency_staff)
            day[f"{m}|n"] = version = day.get(f"{m}|n", 0) + 1
            if prev is None or now >= prev[0]:
                self._last[(a, loc, user)] = (now, tick.day, tick.feature)
            self._dirty[member_of(a, tick.day, loc, user)] = version
            return 1 + session

    def take_token(
        self, agency_id: int, bucket: str, burst: int, refill_per_ms: float, now_ms: int
    ) -> bool:
        with self._lock:
            tokens, ts = self._buckets.get((agency_id, bucket), (float(burst), now_ms))
            tokens = min(burst, tokens + max(0, now_ms - ts) * refill_per_ms)
            if tokens < 1:
                self._stats[RATE_LIMITED] = self._stats.get(RATE_LIMITED, 0) + 1
                return False
            self._buckets[(agency_id, bucket)] = (tokens - 1, now_ms)
            return True

    def count_rejection(self, reason: str) -> None:
        with self._lock:
            self._stats[reason] = self._stats.get(reason, 0) + 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def dirty_members(self) -> Iterator[str]:
        with self._lock:
            members = list(self._dirty)
        yield from members

    def all_members(self) -> Iterator[str]:
        with self._lock:
            found = [
                member_of(a, day, *field[:-2].split("|"))
                for (a, day), fields in self._days.items()
                for field in fields
                if field.endswith("|n")
            ]
        yield from found

    def totals(self, members: list[str]) -> list[UserDayTotals | None]:
        out = []
        with self._lock:
            for member in members:
                a, day, loc, user = _split(member)
                fields = self._days.get((a, day), {})
                values = {f: fields.get(f"{loc}|{user}|{f}") for f in _FIELDS}
                out.append(_totals_from(member, values))
        return out

    def forget_if_unchanged(self, written: list[tuple[str, int]]) -> None:
        with self._lock:
            for member, version in written:
                if self._dirty.get(member) == version:
                    del self._dirty[member]

    def forget_expired(self, members: list[str]) -> None:
        with self._lock:
            for member in members:
                a, day, loc, user = _split(member)
                if f"{loc}|{user}|n" not in self._days.get((a, day), {}):
                    self._dirty.pop(member, None)

    def flush_lock(self, seconds: int) -> bool:
        with self._lock:
            if self._flushing:
                return False
            self._flushing = True
            return True

    def release_flush_lock(self) -> None:
        with self._lock:
            self._flushing = False

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(
                [f"{PREFIX}day:{a}:{d}" for a, d in self._days]
                + [f"{PREFIX}last:{a}:{loc}:{u}" for a, loc, u in self._last]
                + [f"{PREFIX}rl:{a}:{u}" for a, u in self._buckets]
                + ([DIRTY_KEY] if self._dirty else [])
                + ([STATS_KEY] if self._stats else [])
            )


_memory_store = MemoryCounterStore()
_redis_stores: dict[str, RedisCounterStore] = {}
_stores_lock = threading.Lock()


def counter_store() -> RedisCounterStore | MemoryCounterStore:
    """The store for the configured ACTIVITY_REDIS_URL (memory when unset, embedded mode only)."""
    url = settings.ACTIVITY_REDIS_URL
    if not url:
        return _memory_store
    store = _redis_stores.get(url)
    if store is None:
        with _stores_lock:
            store = _redis_stores.setdefault(url, RedisCounterStore(url))
    return store


def minutes(ms: int) -> int:
    """Active milliseconds to whole minutes, rounding half up (29 s is 0, 30 s is 1)."""
    return math.floor(ms / 60_000 + 0.5)
