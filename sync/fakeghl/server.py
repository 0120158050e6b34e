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
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sync.fakeghl.api import V1, V2, Api, ApiError, Call, consent_redirect
from sync.fakeghl.state import FakeClock, FakeState, Fault, InboundDelivery, RecordedRequest
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


def _emptied(body):
    """An `empty_list` GHL: a well-formed 200 whose listing holds nothing (lists emptied,
    totals 0), the answer a glitching GHL gives."""
    if not isinstance(body, dict):
        return body
    return {
        k: [] if isinstance(v, list) else 0 if k in ("total", "count") else v
        for k, v in body.items()
    }


# What a `stuck_pages` GHL ignores: every listing answers its first page.
_PAGING_PARAMS = {"skip", "offset", "page", "startAfter", "startAfterId", "startAfterDate"}
_COMPILED = [(m, re.compile(p + r"\Z"), *rest) for m, p, *rest in ROUTES]
# A workflow's Inbound Webhook trigger URL (services.leadconnectorhq.com in GHL).
_INBOUND_HOOK = re.compile(
    r"/hooks/(?P<loc>[A-Za-z0-9]+)/webhook-trigger/(?P<trigger>[0-9a-f-]{36})\Z"
)


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
        stories: bool = False,
        record_requests: bool = True,
        observed_from: int | None = None,
    ):
        if agencies is None:
            agencies = [("BrightPath Agency", locations if locations is not None else 60)]
        self.clock = FakeClock(clock_start)
        self.world = World(
            seed=seed,
            agencies=agencies,
            epoch=self.clock.now().date(),
            stories=stories,
            observed_from=observed_from,
        )
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
        self.responder = Responder(self)
        # Tests read the request log and the customer values served; months of simulated pulls
        # (the demo) would keep hundreds of MB of both for nothing.
        self.state.recording = record_requests
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

    # --- workflow Inbound Webhook triggers ----------------------------------------------------
    def add_inbound_webhook(self, location_id: str) -> str:
        """A workflow of `location_id` with an Inbound Webhook trigger: its URL (on this fake)."""
        trigger_id = str(uuid.uuid4())
        with self.state.lock:
            self.state.inbound_triggers[(location_id, trigger_id)] = []
        return f"{self.base_url}/hooks/{location_id}/webhook-trigger/{trigger_id}"

    def inbound_deliveries(self, location_id: str | None = None) -> list[InboundDelivery]:
        with self.state.lock:
            return [
                d
                for (loc, _t), items in self.state.inbound_triggers.items()
                if location_id is None or loc == location_id
                for d in items
            ]

    @property
    def customer_values(self) -> set[str]:
        """Every end-customer value (contact names, emails, phones, bodies) served so far."""
        with self.state.lock:
            return set(self.state.customer_values)

    @property
    def rate_limited_count(self) -> int:
        return self.state.rate_limited


@dataclass
class Reply:
    """One answer of the fake, before any transport writes it."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    reset: bool = False  # cut the connection instead of answering
    trickle_seconds: float = 0.0  # send the body in pieces spread over this long
    stream_size: int = 0  # a body of this many bytes, generated while sent, no Content-Length


def _json(status: int, body, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), dict(headers or {}))


class Responder:
    """Everything the fake decides about one request: routing, the Version header, tokens,
    scopes, rate limits, faults and the endpoint's answer. Transport-free, so the HTTP handler
    and the in-process transport (sync/fakeghl/inprocess.py) give exactly the same answers."""

    def __init__(self, fake: FakeGHL):
        self.fake = fake

    def respond(self, method: str, target: str, headers, body: bytes) -> Reply:
        """`headers`: any mapping with a case-insensitive `.get` (an email Message, requests'
        CaseInsensitiveDict). The request is in the log before the answer is returned: a client's
        next request may reach another thread, and tests read the log in GHL's order."""
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/_fake/"):
            return self._admin(method, path, body)
        query_lists = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in query_lists.items()}
        if not self.fake.state.recording:
            return self._serve(method, path, query, headers, body)
        record = RecordedRequest(method, path, query_lists, dict(headers.items()), body)
        try:
            reply = self._serve(method, path, query, headers, body)
        except BaseException:
            self.fake.state.record(record)
            raise
        record.status = reply.status
        self.fake.state.record(record)
        return reply

    def _serve(self, method, path, query, headers, body) -> Reply:
        fake, state = self.fake, self.fake.state
        if path in ("/v2/oauth/chooselocation", "/oauth/chooselocation") and method == "GET":
            return self._chooselocation(query)
        loc = query.get("locationId", "")
        slow = state.take_fault(path, ("slow",), loc)
        if slow is not None:
            time.sleep(slow.seconds)
        if state.take_fault(path, ("reset",), loc) is not None:
            return Reply(0, reset=True)
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        day = fake.today()
        if path == "/oauth/token" and method == "POST":
            if "application/x-www-form-urlencoded" not in (headers.get("Content-Type") or ""):
                return _json(415, {"statusCode": 415, "message": "Use form encoding"})
            fault = self._fault(path, {})
            if fault is not None:
                return fault
            status, out = fake.api.token(Call(path, query, form, None, day, 1))
            return _json(status, out)
        hook = _INBOUND_HOOK.match(path)
        if hook is not None and method == "POST":
            return self._inbound_webhook(hook.group("loc"), hook.group("trigger"), headers, body)
        for m, pattern, name, version, scope, kinds in _COMPILED:
            match = pattern.match(path)
            if m != method or match is None:
                continue
            return self._api_call(
                path, query, form, headers, day, match, name, version, scope, kinds
            )
        return _json(404, {"statusCode": 404, "message": f"Cannot {method} {path}"})

    def _api_call(self, path, query, form, headers, day, match, name, version, scope, kinds):
        state = self.fake.state
        loc = query.get("locationId", "")
        if headers.get("Version") != version:
            return _json(400, {"statusCode": 400, "message": f"Version header must be {version}"})
        auth = headers.get("Authorization") or ""
        token = state.check_access(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            return _json(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "Invalid token: access token is invalid",
                },
            )
        if kinds is not None and token.kind not in kinds:
            return _json(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "This route is not supported with this token type",
                },
            )
        if scope is not None and scope not in token.scope.split():
            return _json(
                401,
                {
                    "statusCode": 401,
                    "error": "Unauthorized",
                    "message": "The token is not authorized for this scope.",
                },
            )
        if state.take_fault(path, ("401",), loc) is not None:
            return _json(
                401,
                {"statusCode": 401, "error": "Unauthorized", "message": "Invalid JWT"},
            )
        resource = token.location_id or token.company_id
        allowed, limits = state.take_rate(token.client_id, resource)
        if not allowed:
            return _json(429, {"statusCode": 429, "message": "Too many requests"}, limits)
        fault = self._fault(path, limits, loc)
        if fault is not None:
            return fault
        big = state.take_fault(path, ("huge_body",), loc)
        if big is not None:
            return Reply(200, headers=dict(limits), stream_size=big.size)
        if state.take_fault(path, ("stuck_pages",), loc) is not None:
            query = {k: v for k, v in query.items() if k not in _PAGING_PARAMS}
            if "page" in query or name == "saas_locations":
                query["page"] = "1"
        trickle = state.take_fault(path, ("trickle",), loc)
        huge = state.take_fault(path, ("huge_pages",), loc)
        call = Call(path, query, form, token, day, huge.factor if huge else 1)
        try:
            args = (match.group("a"),) if "a" in match.groupdict() else ()
            status, out = getattr(self.fake.api, name)(call, *args)
        except ApiError as err:
            status, out = err.status, err.body()
        if status == 200 and state.take_fault(path, ("empty_list",), loc) is not None:
            out = _emptied(out)
        reply = _json(status, out, limits)
        if trickle is not None:
            reply.trickle_seconds = trickle.seconds
        return reply

    def _inbound_webhook(self, location_id: str, trigger_id: str, headers, body: bytes) -> Reply:
        """A workflow's "Inbound Webhook" trigger URL: no token, any JSON body; GHL answers at
        once and runs the workflow on its own (the fake records the delivery instead)."""
        state = self.fake.state
        fault = self._fault(f"/hooks/{location_id}/webhook-trigger/", {})
        if fault is not None:
            return fault
        with state.lock:
            deliveries = state.inbound_triggers.get((location_id, trigger_id))
            if deliveries is None:
                return _json(404, {"status": "Not Found", "message": "Webhook trigger not found"})
        if "application/json" not in (headers.get("Content-Type") or ""):
            return _json(400, {"status": "Bad Request", "message": "Send a JSON body"})
        try:
            json.loads(body or b"null")
        except ValueError:
            return _json(400, {"status": "Bad Request", "message": "Invalid JSON"})
        execution_id = str(uuid.uuid4())
        with state.lock:
            deliveries.append(
                InboundDelivery(location_id, trigger_id, dict(headers.items()), body, execution_id)
            )
        return _json(
            200, {"status": "Success: request sent to trigger execution server", "id": execution_id}
        )

    def _fault(self, path: str, headers: dict[str, str], location: str = "") -> Reply | None:
        kinds = ("429", "5xx", "truncate", "non_json")
        fault = self.fake.state.take_fault(path, kinds, location)
        if fault is None:
            return None
        if fault.kind == "429":
            extra = dict(headers, **{"X-RateLimit-Remaining": "0"})
            if fault.seconds:
                extra["Retry-After"] = str(int(fault.seconds) if fault.seconds >= 1 else 1)
            return _json(429, {"statusCode": 429, "message": "Too many requests"}, extra)
        if fault.kind == "5xx":
            return _json(
                fault.status, {"statusCode": fault.status, "message": "Internal error"}, headers
            )
        if fault.kind == "truncate":
            return Reply(200, b'{"locations":[{"id":"abc","na', dict(headers))
        return Reply(200, b"<html><body>502 Bad Gateway</body></html>", dict(headers), "text/html")

    def _chooselocation(self, query: dict[str, str]) -> Reply:
        fake, state = self.fake, self.fake.state
        client_id, redirect = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in state.apps or not redirect or query.get("response_type") != "code":
            return Reply(400, b"<h1>Invalid app</h1>", content_type="text/html")
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
        return Reply(302, headers={"Location": target}, content_type="")

    # --- admin endpoints ---------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        fake = self.fake
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"error": "bad json"})
        if path == "/_fake/faults" and method == "POST":
            kind = data.pop("kind", "")
            known = {"count", "path", "status", "seconds", "factor", "size", "location"}
            fake.add_fault(kind, **{k: v for k, v in data.items() if k in known})
            return _json(200, {"ok": True})
        if path == "/_fake/faults" and method == "DELETE":
            fake.clear_faults()
            return _json(200, {"ok": True})
        if path == "/_fake/revoke" and method == "POST":
            fake.revoke(data.get("companyId", ""))
            return _json(200, {"ok": True})
        if path == "/_fake/clock" and method == "POST":
            now = fake.advance(days=data.get("days", 0), seconds=data.get("seconds", 0))
            return _json(200, {"now": now.astimezone(UTC).isoformat(), "day": fake.today()})
        if path == "/_fake/consent" and method == "POST":
            fake.consent_as(data.get("companyId"))
            return _json(200, {"ok": True})
        if path == "/_fake/state" and method == "GET":
            return _json(
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
        return _json(404, {"error": "unknown admin endpoint"})


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

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.fake.responder.respond(method, self.path, self.headers, body)
        if reply.reset:
            self._reset()
            return
        try:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            if reply.stream_size:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(reply.body)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if reply.stream_size:
                self._write_generated(reply.stream_size)
            elif reply.trickle_seconds:
                self._write_slowly(reply.body, reply.trickle_seconds)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _write_generated(self, size: int) -> None:
        """A valid JSON page padded to `size` bytes, made while it is sent (never held whole)."""
        head, tail = b'{"locations":[],"users":[],"pad":"', b'"}'
        self.wfile.write(head)
        left = max(0, size - len(head) - len(tail))
        chunk = b"x" * (1024 * 1024)
        while left > 0:
            self.wfile.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        self.wfile.write(tail)

    def _write_slowly(self, body: bytes, seconds: float) -> None:
        pieces = 10
        step = max(1, -(-len(body) // pieces))
        for i in range(0, len(body), step):
            self.wfile.write(body[i : i + step])
            self.wfile.flush()
            time.sleep(seconds / pieces)
