"""The fake GHL's mutable state: clock, OAuth codes and tokens, rate limits, faults, request log.

Everything is guarded by one lock; the HTTP handler threads share a single FakeState.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ACCESS_TTL = 86399
CODE_TTL = 600


class FakeClock:
    """Real time plus an offset the tests and the demo move forward ("the world's today")."""

    def __init__(self, start: datetime | None = None):
        self._origin = start or datetime.now(UTC)
        self._mono = time.monotonic()
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._origin + timedelta(seconds=time.monotonic() - self._mono) + self._offset

    def advance(self, *, days: float = 0, seconds: float = 0) -> datetime:
        with self._lock:
            self._offset += timedelta(days=days, seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._origin = moment
            self._mono = time.monotonic()
            self._offset = timedelta()


def _jwt_like(kind: str) -> str:
    """GHL tokens are JWTs; ours have the same shape so log scrubbing is tested for real."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"kind": kind, "n": secrets.token_hex(8)}).encode())
    return f"{head}.{body}.{b64(secrets.token_bytes(32))}"


@dataclass
class TokenInfo:
    kind: str  # Company | Location
    company_id: str
    location_id: str | None
    scope: str
    expires_at: datetime
    client_id: str
    user_id: str


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.time)


@dataclass
class Fault:
    """One scenario switch. `count` None means "until cleared"."""

    # 429 | 5xx | slow | truncate | non_json | huge_pages | consent_error, and the shapes of a
    # misbehaving GHL: reset (the connection is cut, no answer), trickle (the answer arrives a
    # few bytes at a time over `seconds`), huge_body (a 200 of `size` bytes, no Content-Length),
    # stuck_pages (skip/offset/page/startAfter* ignored: every page is the first), 401 (every
    # token refused, fresh or not), empty_list (a 200 whose lists are empty and totals 0).
    kind: str
    count: int | None = None
    path: str = ""  # applies to paths starting with this prefix ("" = every API path)
    status: int = 500
    seconds: float = 0.0  # slow: delay; 429: Retry-After value (0 = no header); trickle: length
    factor: int = 10  # huge_pages: how many times the requested page size to return
    size: int = 100 * 1024 * 1024  # huge_body: bytes of the body
    location: str = ""  # only requests for this sub-account (its locationId query parameter)

    def matches(self, path: str, location: str = "") -> bool:
        return path.startswith(self.path) and (not self.location or self.location == location)


@dataclass
class InboundDelivery:
    """One POST a workflow's Inbound Webhook trigger accepted (it would start the workflow)."""

    location_id: str
    trigger_id: str
    headers: dict[str, str]
    body: bytes
    execution_id: str

    def json(self):
        return json.loads(self.body)


class FakeState:
    def __init__(
        self,
        clock: FakeClock,
        apps: dict[str, str],
        *,
        burst: int,
        interval: float,
        daily: int,
        enforce_limits: bool,
    ):
        self.clock = clock
        self.apps = dict(apps)
        self.burst, self.interval, self.daily = burst, interval, daily
        self.enforce_limits = enforce_limits
        self.lock = threading.RLock()
        self.codes: dict[str, dict] = {}
        self.access: dict[str, TokenInfo] = {}
        self.refresh: dict[str, dict] = {}
        self.revoked_companies: set[str] = set()
        self.faults: list[Fault] = []
        self.requests: deque[RecordedRequest] = deque(maxlen=200_000)
        self.windows: dict[tuple[str, str], deque[float]] = {}
        self.daily_used: dict[tuple[str, str, str], int] = {}
        self.rate_limited = 0
        self.consent_company: str | None = None
        self.customer_values: set[str] = set()
        self.recording = True  # keep the request log and the customer values served
        # Workflow "Inbound Webhook" triggers: (location id, trigger id) -> deliveries received.
        self.inbound_triggers: dict[tuple[str, str], list[InboundDelivery]] = {}

    # --- OAuth -----------------------------------------------------------------------------
    def issue_code(
        self, client_id: str, company_id: str, redirect_uri: str, scope: str, user_id: str
    ) -> str:
        code = secrets.token_hex(20)
        with self.lock:
            self.codes[code] = {
                "client_id": client_id,
                "company_id": company_id,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "user_id": user_id,
                "expires_at": self.clock.now() + timedelta(seconds=CODE_TTL),
            }
        return code

    def take_code(self, code: str) -> dict | None:
        with self.lock:
            info = self.codes.pop(code, None)
        if info is None or info["expires_at"] < self.clock.now():
            return None
        return info

    def mint(
        self,
        *,
        kind: str,
        company_id: str,
        location_id: str | None,
        scope: str,
        client_id: str,
        user_id: str,
        with_refresh: bool,
    ) -> tuple[str, str | None]:
        access = _jwt_like(kind)
        info = TokenInfo(
            kind,
            company_id,
            location_id,
            scope,
            self.clock.now() + timedelta(seconds=ACCESS_TTL),
            client_id,
            user_id,
        )
        refresh = _jwt_like("refresh") if with_refresh else None
        with self.lock:
            self.access[access] = info
            if refresh:
                self.refresh[refresh] = {"info": info, "used": False}
        return access, refresh

    def use_refresh(self, token: str, client_id: str) -> TokenInfo | None:
        """Single use: the first caller gets the grant, every later caller gets None."""
        with self.lock:
            entry = self.refresh.get(token)
            if entry is None or entry["used"] or entry["info"].client_id != client_id:
                return None
            if entry["info"].company_id in self.revoked_companies:
                return None
            entry["used"] = True
            return entry["info"]

    def check_access(self, token: str) -> TokenInfo | None:
        with self.lock:
            info = self.access.get(token)
            if info is None or info.company_id in self.revoked_companies:
                return None
        return info if info.expires_at > self.clock.now() else None

    def revoke(self, company_id: str) -> None:
        with self.lock:
            self.revoked_companies.add(company_id)

    def unrevoke(self, company_id: str) -> None:
        with self.lock:
            self.revoked_companies.discard(company_id)

    def expire_access_tokens(self) -> None:
        """Make every access token expired now (refresh tokens stay valid)."""
        past = self.clock.now() - timedelta(seconds=1)
        with self.lock:
            for info in self.access.values():
                info.expires_at = past

    # --- rate limits -----------------------------------------------------------------------
    def take_rate(self, client_id: str, resource: str) -> tuple[bool, dict[str, str]]:
        """Count one request against the app+resource buckets; (allowed, X-RateLimit headers).

        The burst window slides (stricter than a fixed window), so a client that never sees a 429
        here never sees one from GHL either.
        """
        now = time.monotonic()
        day = self.clock.now().date().isoformat()
        with self.lock:
            window = self.windows.setdefault((client_id, resource), deque())
            while window and window[0] <= now - self.interval:
                window.popleft()
            used_today = self.daily_used.get((client_id, resource, day), 0)
            allowed = not self.enforce_limits or (
                len(window) < self.burst and used_today < self.daily
            )
            if allowed:
                window.append(now)
                used_today += 1
                self.daily_used[(client_id, resource, day)] = used_today
            else:
                self.rate_limited += 1
            headers = {
                "X-RateLimit-Limit-Daily": str(self.daily),
                "X-RateLimit-Daily-Remaining": str(max(0, self.daily - used_today)),
                "X-RateLimit-Interval-Milliseconds": str(int(self.interval * 1000)),
                "X-RateLimit-Max": str(self.burst),
                "X-RateLimit-Remaining": str(max(0, self.burst - len(window))),
            }
        return allowed, headers

    # --- faults ----------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, path: str, kinds: tuple[str, ...], location: str = "") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(path, location):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # --- request log -----------------------------------------------------------------------
    def record(self, req: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(req)

    def remember_customer_values(self, *values: str) -> None:
        if not self.recording:
            return
        with self.lock:
            self.customer_values.update(v for v in values if v)
