"""One pooled requests.Session per process (recreated in a forked child, never shared across)."""

from __future__ import annotations

import os
import threading
import time

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from sync.ghl.errors import GHLTimeout, ResponseTooLarge

_CHUNK = 64 * 1024

_lock = threading.Lock()
_session: requests.Session | None = None


def http_session() -> requests.Session:
    global _session
    with _lock:
        if _session is None:
            session = requests.Session()
            # Retries are ours (client.py), so the adapter never retries on its own.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"Accept": "application/json", "User-Agent": "GoCSM/1.0"})
            _session = session
        return _session


def read_body(resp: requests.Response, path: str, deadline: float) -> bytes:
    """The whole body, read in chunks: refused past settings.GHL_MAX_RESPONSE_BYTES (decoded
    bytes, so a compressed bomb counts at its real size) before anything is parsed, and given up
    on past the call's deadline (a server that trickles bytes never trips the read timeout).
    The connection is dropped rather than drained when the body is refused."""
    cap = settings.GHL_MAX_RESPONSE_BYTES
    try:
        declared = int(resp.headers.get("Content-Length") or -1)
    except ValueError:
        declared = -1
    if declared > cap:
        resp.close()
        raise ResponseTooLarge(f"GHL {path}: body of {declared} bytes is over the cap", None)
    parts, size = [], 0
    try:
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"GHL {path}: body over {cap} bytes", resp.status_code)
            if time.monotonic() > deadline:
                raise GHLTimeout(f"GHL {path}: body still arriving at the call's deadline")
            parts.append(chunk)
    except (ResponseTooLarge, GHLTimeout):
        resp.close()
        raise
    return b"".join(parts)


def _forget_after_fork() -> None:
    global _session, _lock
    _session = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
