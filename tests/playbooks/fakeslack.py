"""A Slack incoming-webhook endpoint on loopback, speaking Slack's wire format.

Slack's incoming webhooks take a POSTed JSON body with `text` and/or `blocks` and answer
`200 ok` (text/plain); a bad body gets 400 with a short code (`invalid_payload`, `no_text`,
`invalid_blocks`), an unknown URL 404 `no_service`. Tests read `messages` and can make the
endpoint fail (`fail_next`) or answer slowly (`delay`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOCK_TYPES = {"section", "divider", "actions", "context", "header", "image"}


class FakeSlack:
    def __init__(self, port: int = 0):
        self.port = port
        self.messages: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        self.fail_next = 0
        self.fail_status = 500
        self.delay = 0.0
        self.paths: set[str] = set()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, text = fake.receive(self.path, dict(self.headers.items()), body)
                if fake.delay:
                    time.sleep(fake.delay)
                out = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def new_webhook(self) -> str:
        """An incoming-webhook URL shaped like Slack's (/services/T…/B…/<secret>)."""
        path = (
            f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/"
            f"{secrets.token_urlsafe(18)}"
        )
        self.paths.add(path)
        return f"http://127.0.0.1:{self.port}{path}"

    def receive(self, path: str, headers: dict, body: bytes) -> tuple[int, str]:
        if path not in self.paths:
            return 404, "no_service"
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                return self.fail_status, "internal_error"
        try:
            data = json.loads(body)
        except ValueError:
            return 400, "invalid_payload"
        if not isinstance(data, dict):
            return 400, "invalid_payload"
        blocks = data.get("blocks")
        if not data.get("text") and not blocks:
            return 400, "no_text"
        if blocks is not None and not _valid_blocks(blocks):
            return 400, "invalid_blocks"
        with self.lock:
            self.messages.append(data)
            self.headers.append(headers)
        return 200, "ok"


def _valid_blocks(blocks) -> bool:
    if not isinstance(blocks, list) or len(blocks) > 50:
        return False
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return False
        text = block.get("text")
        if text is not None:
            if text.get("type") not in ("mrkdwn", "plain_text") or not text.get("text"):
                return False
            if len(text["text"]) > 3000:
                return False
        if block["type"] == "actions":
            for el in block.get("elements", []):
                if el.get("type") == "button" and not str(el.get("url", "")).startswith("http"):
                    return False
    return True
