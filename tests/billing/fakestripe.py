"""A local fake Stripe API speaking Stripe's wire protocol for the calls GoCSM makes.

Form-encoded request bodies (Stripe's bracket notation), Bearer auth, the Stripe-Version header,
JSON responses shaped like Stripe's objects and errors. It records every request and can
simulate an outage (HTTP 500) or be stopped (connection refused).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_fake_gocsm_0123456789"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    form: dict  # flat Stripe keys, e.g. {"line_items[0][price]": "price_x"}


@dataclass
class FakeStripe:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    # None | "500" (Stripe answers api_error)
    outage: str | None = None
    subscriptions: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                form = dict(parse_qsl(raw or query, keep_blank_values=True))
                fake.requests.append(Recorded(method, path, dict(self.headers.items()), form))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._reply(
                        401,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Invalid API Key provided.",
                            }
                        },
                    )
                if fake.outage == "500":
                    return self._reply(
                        500,
                        {"error": {"type": "api_error", "message": "An unknown error occurred."}},
                    )
                status, body = fake.route(method, path, form)
                return self._reply(status, body)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # --- routes -----------------------------------------------------------------------------
    def route(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._checkout_session(form)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return self._portal_session(form)
        if method == "POST" and path == "/v1/customers":
            cus = {"id": "cus_" + secrets.token_hex(7), "object": "customer", "created": now()}
            self.customers[cus["id"]] = cus
            return 200, cus
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            sub = self.subscriptions.get(path.rsplit("/", 1)[1])
            if sub is None:
                return 404, _missing("subscription")
            return 200, sub
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL."}}

    def _checkout_session(self, form: dict) -> tuple[int, dict]:
        for required in ("mode", "success_url", "line_items[0][price]"):
            if not form.get(required):
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "param": required,
                        "message": f"Missing required param: {required}.",
                    }
                }
        sid = "cs_test_" + secrets.token_hex(12)
        return 200, {
            "id": sid,
            "object": "checkout.session",
            "mode": form["mode"],
            "customer": form.get("customer") or None,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": _nested(form, "metadata"),
            "status": "open",
            "payment_status": "unpaid",
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "url": f"https://checkout.stripe.com/c/pay/{sid}",
            "created": now(),
            "livemode": False,
        }

    def _portal_session(self, form: dict) -> tuple[int, dict]:
        customer = form.get("customer")
        if not customer:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "param": "customer",
                    "message": "Missing required param: customer.",
                }
            }
        bps = "bps_" + secrets.token_hex(12)
        return 200, {
            "id": bps,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": form.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{bps}",
            "created": now(),
            "livemode": False,
        }


def now() -> int:
    return int(time.time())


def _missing(what: str) -> dict:
    return {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {what}.",
        }
    }


def _nested(form: dict, prefix: str) -> dict:
    return {
        k[len(prefix) + 1 : -1]: v
        for k, v in form.items()
        if k.startswith(prefix + "[") and k.count("[") == 1
    }


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
