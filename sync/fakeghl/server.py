"""The fake GHL as a real HTTP server on loopback: marketplace consent page plus the API host.

    fake = FakeGHL(seed=7, agencies=[("BrightPath Agency", 1000)])
    base_url = fake.start()          # http://127.0.0.1:<random port>
    fake.add_fault("429", count=5)   # or POST /_fake/faults {"kind": "429", "count": 5}
    fake.advance(days=1)             # the world moves on a day
    fake.stop()

One server plays both hosts: point GHL_MARKETPLACE_URL and GHL_API_BASE_URL at base_url.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sync.fakeghl.api import V1, V2, Api, ApiError, Call, consent_redirect
from sync.fakeghl.state import FakeClock, FakeState, Fault, RecordedRequest
from sync.fakeghl.world import World

DEFAULT_CLIENT_ID = "66f1a2b3c4d5e6f7a8b9c0d1-mfakeclient"
DEFAULT_CLIENT_SECRET = "fake-client-secret-for-tests-only"

# (method, pattern, handler name, Version, scope needed or None, token kinds allowed)
ROUTES = [
    ("POST", r"/oauth/locationToken", "location_token", V1, "oauth.write", ("Company",)),
    (
        "GET",
        r"/oauth/installedLocations",
        "installed_locations",
        V1,
        "oauth.readonly",
        ("Company",),
    ),
    ("GET", r"/locations/search", "locations_search", V1, "locations.readonly", None),
    ("GET", r"/locations/(?P<a>[^/]+)", "location_get", V1, "locations.readonly", None),
    ("GET", r"/users/search", "users_search", V1, "users.readonly", None),
    ("GET", r"/users/(?P<a>[^/]+)", "user_get", V1, "users.readonly", None),
    ("GET", r"/companies/(?P<a>[^/]+)", "company", V1, "companies.readonly", ("Company",)),
    ("GET", r"/workflows/?", "workflows", V1, "workflows.readonly", ("Location",)),
    (
        "GET",
        r"/calendars/events",
        "calendar_events",
        V2,
        "calendars/events.readonly",
        ("Location",),
    ),
    ("GET", r"/calendars/?", "calendars", V2, "calendars.readonly", ("Location",)),
    ("GET", r"/products/?", "products", V1, "products.readonly", None),
    (
        "GET",
        r"/conversations/search",
        "conversations_search",
        V2,
        "conversations.readonly",
        ("Location",),
    ),
    ("GET", r"/saas/saas-locations/(?P<a>[^/]+)", "saas_locations", V2, None, ("Company",)),
    (
        "GET",
        r"/saas/get-saas-subscription/(?P<a>[^/]+)",
        "saas_subscription",
        V2,
        None,
        ("Company",),
    ),
    ("GET", r"/saas/agency-plans/(?P<a>[^/]+)", "agency_plans", V2, None, ("Company",)),
    ("GET", r"/saas/saas-plan/(?P<a>[^/]+)", "saas_plan", V2, None, ("Company",)),
]
_COMPILED = [(m, re.compile(p + r"\Z"), *rest) for m, p, *rest in ROUTES]


class FakeGHL:
    """A GHL look-alike. See the module docstring; every knob is also an HTTP endpoint."""

    def __init__(
        self,
        *,
        seed: int = 1,
        agencies=None,
        locations: int | None = None,
        clients: dict[str, str] | None = None,
        clock_start: datetime | None = None,
        enforce_limits: bool = True,
        burst: int = 100,
        interval_seconds: float = 10.0,
        daily: int = 200_000,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        if agencies is None:
            agencies = [("BrightPath Agency", locations if locations is not None else 60)]
        self.clock = FakeClock(clock_start)
        self.world = World(seed=seed, agencies=agencies, epoch=self.clock.now().date())
        self.client_id = next(iter(clients)) if clients else DEFAULT_CLIENT_ID
        self.client_secret = clients[self.client_id] if clients else DEFAULT_CLIENT_SECRET
        self.state = FakeState(
            self.clock,
            clients or {self.client_id: self.client_secret},
            burst=burst,
            interval=interval_seconds,
            daily=daily,
            enforce_limits=enforce_limits,
        )
        self.api = Api(self.world, self.state, self.app_id_of)
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.live = set()
        server.live_lock = threading.Lock()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fakeghl", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        """Stop accepting and cut every open keep-alive connection, so a client's pooled
        connection can never reach this (stopped) fake when a later one reuses the port."""
        if self._server is not None:
            self._server.shutdown()
            with self._server.live_lock:
                live = list(self._server.live)
            for sock in live:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGHL:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- knobs -----------------------------------------------------------------------------
    @property
    def company_ids(self) -> list[str]:
        return list(self.world.agencies)

    @staticmethod
    def app_id_of(client_id: str) -> str:
        return client_id.split("-", 1)[0]

    @property
    def app_id(self) -> str:
        return self.app_id_of(self.client_id)

    def today(self) -> int:
        return self.world.day_of(self.clock.now())

    def advance(self, *, days: float = 0, seconds: float = 0) -> datetime:
        return self.clock.advance(days=days, seconds=seconds)

    def add_fault(self, kind: str, **kwargs) -> Fault:
        fault = Fault(kind=kind, **kwargs)
        self.state.add_fault(fault)
        return fault

    def clear_faults(self) -> None:
        self.state.clear_faults()

    def revoke(self, company_id: str) -> None:
        """The agency removed the app or GHL revoked the grant: tokens stop working."""
        self.state.revoke(company_id)

    def consent_as(self, company_id: str | None) -> None:
        """Which agency the next chooselocation consent installs for (default: the first)."""
        self.state.consent_company = company_id

    def expire_access_tokens(self) -> None:
        self.state.expire_access_tokens()

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self.state.lock:
            items = list(self.state.requests)
        return [r for r in items if path is None or r.path.startswith(path)]

    def clear_requests(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    @property
    def customer_values(self) -> set[str]:
        """Every end-customer value (contact names, emails, phones, bodies) served so far."""
        with self.state.lock:
            return set(self.state.customer_values)

    @property
    def rate_limited_count(self) -> int:
        return self.state.rate_limited


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGHL
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK adds ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "FakeGHL/1.0"

    def setup(self):
        super().setup()
        with self.server.live_lock:
            self.server.live.add(self.connection)

    def finish(self):
        with self.server.live_lock:
            self.server.live.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args):
        # Quiet: tests read the request log instead.
        return

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing --------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self._status = status
        # Log the request before the client can read the answer: the client's next request may
        # arrive on another server thread, and tests read the log in the order GHL saw calls.
        self._log_request()
        self.wfile.write(data)

    def _log_request(self) -> None:
        record = getattr(self, "_record", None)
        if record is not None:
            record.status = self._status
            self.fake.state.record(record)
            self._record = None

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query_lists = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in query_lists.items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._status = 0
        if path.startswith("/_fake/"):
            self._admin(method, path, body)
            return
        self._record = RecordedRequest(method, path, query_lists, dict(self.headers.items()), body)
        try:
            self._serve(method, path, query, body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._log_request()  # no-op when _send already logged it

    def _serve(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        fake, state = self.fake, self.fake.state
        if path in ("/v2/oauth/chooselocation", "/oauth/chooselocation") and method == "GET":
            self._chooselocation(query)
            return
        slow = state.take_fault(path, ("slow",))
        if slow is not None:
            time.sleep(slow.seconds)
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        day = fake.today()
        if path == "/oauth/token" and method == "POST":
            if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
                self._send(415, {"statusCode": 415, "message": "Use form encoding"})
                return
            if self._maybe_fault(path, {}):
                return
            status, out = fake.api.token(Call(path, query, form, None, day, 1))
            self._send(status, out)
            return
        for m, pattern, name, version, scope, kinds in _COMPILED:
            match = pattern.match(path)
            if m != method or match is None:
                continue
            self._api_call(path, query, form, day, match, name, version, scope, kinds)
            return
        self._send(404, {"statusCode": 404, "message": f"Cannot {method} {path}"})

    def _api_call(self, path, query, form, day, match, name, version, scope, kinds) -> None:
        state = self.fake.state
        if self.headers.get("Version") != version:
            self._send(400, {"statusCode": 400, "message": f"Version header must be {version}"})
            return
        auth = self.headers.get("Authorization") or ""
        token = state.check_access(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            self._send(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "Invalid token: access token is invalid",
                },
            )
            return
        if kinds is not None and token.kind not in kinds:
            self._send(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "This route is not supported with this token type",
                },
            )
            return
        if scope is not None and scope not in token.scope.split():
            self._send(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "The token is not authorized for this scope.",
                },
            )
            return
        resource = token.location_id or token.company_id
        allowed, headers = state.take_rate(token.client_id, resource)
        if not allowed:
            self._send(429, {"statusCode": 429, "message": "Too many requests"}, headers)
            return
        if self._maybe_fault(path, headers):
            return
        huge = state.take_fault(path, ("huge_pages",))
        call = Call(path, query, form, token, day, huge.factor if huge else 1)
        try:
            args = (match.group("a"),) if "a" in match.groupdict() else ()
            status, out = getattr(self.fake.api, name)(call, *args)
        except ApiError as err:
            status, out = err.status, err.body()
        self._send(status, out, headers)

    def _maybe_fault(self, path: str, headers: dict[str, str]) -> bool:
        fault = self.fake.state.take_fault(path, ("429", "5xx", "truncate", "non_json"))
        if fault is None:
            return False
        if fault.kind == "429":
            extra = dict(headers, **{"X-RateLimit-Remaining": "0"})
            if fault.seconds:
                extra["Retry-After"] = str(int(fault.seconds) if fault.seconds >= 1 else 1)
            self._send(429, {"statusCode": 429, "message": "Too many requests"}, extra)
        elif fault.kind == "5xx":
            self._send(
                fault.status, {"statusCode": fault.status, "message": "Internal error"}, headers
            )
        elif fault.kind == "truncate":
            self._send(200, None, headers, raw=b'{"locations":[{"id":"abc","na')
        else:
            self._send(
                200,
                None,
                headers,
                raw=b"<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )
        return True

    def _chooselocation(self, query: dict[str, str]) -> None:
        fake, state = self.fake, self.fake.state
        client_id, redirect = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in state.apps or not redirect or query.get("response_type") != "code":
            self._send(400, None, raw=b"<h1>Invalid app</h1>", content_type="text/html")
            return
        extra = {"state": query["state"]} if "state" in query else {}
        if state.take_fault("/oauth/chooselocation", ("consent_error",)):
            target = consent_redirect(redirect, {"error": "access_denied", **extra})
        else:
            company_id = state.consent_company or fake.company_ids[0]
            agency = fake.world.agency(company_id)
            user_id = fake.world.agency_users(agency, fake.today())[0].id if agency else "unknown"
            code = state.issue_code(
                client_id, company_id, redirect, query.get("scope", ""), user_id
            )
            target = consent_redirect(redirect, {"code": code, **extra})
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self._status = 302

    # --- admin endpoints ---------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: bytes) -> None:
        fake = self.fake
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            self._send(400, {"error": "bad json"})
            return
        if path == "/_fake/faults" and method == "POST":
            kind = data.pop("kind", "")
            known = {"count", "path", "status", "seconds", "factor"}
            fake.add_fault(kind, **{k: v for k, v in data.items() if k in known})
            self._send(200, {"ok": True})
        elif path == "/_fake/faults" and method == "DELETE":
            fake.clear_faults()
            self._send(200, {"ok": True})
        elif path == "/_fake/revoke" and method == "POST":
            fake.revoke(data.get("companyId", ""))
            self._send(200, {"ok": True})
        elif path == "/_fake/clock" and method == "POST":
            now = fake.advance(days=data.get("days", 0), seconds=data.get("seconds", 0))
            self._send(200, {"now": now.astimezone(UTC).isoformat(), "day": fake.today()})
        elif path == "/_fake/consent" and method == "POST":
            fake.consent_as(data.get("companyId"))
            self._send(200, {"ok": True})
        elif path == "/_fake/state" and method == "GET":
            self._send(
                200,
                {
                    "now": fake.clock.now().isoformat(),
                    "day": fake.today(),
                    "companies": fake.company_ids,
                    "requests": len(fake.state.requests),
                    "rateLimited": fake.rate_limited_count,
                    "clientId": fake.client_id,
                },
            )
        else:
            self._send(404, {"error": "unknown admin endpoint"})
