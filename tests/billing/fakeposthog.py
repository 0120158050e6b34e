"""A local stand-in for PostHog's capture endpoint (POST /batch/, gzip or plain JSON), keeping
the raw bytes and the decoded batches the posthog library really sends."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePostHog:
    def __init__(self):
        self.bodies: list[bytes] = []  # decompressed request bodies, as sent
        self.paths: list[str] = []
        self.encodings: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> FakePostHog:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                body = gzip.decompress(raw) if encoding == "gzip" else raw
                with fake._lock:
                    fake.paths.append(self.path)
                    fake.encodings.append(encoding)
                    fake.bodies.append(body)
                data = b'{"status": 1}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def events(self) -> list[dict]:
        with self._lock:
            return [e for body in self.bodies for e in json.loads(body)["batch"]]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.events) >= count:
                return self.events
            time.sleep(0.02)
        return self.events


def silent_listener() -> tuple[socket.socket, int]:
    """A loopback port that accepts connections and never answers (a hung PostHog)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s, s.getsockname()[1]
