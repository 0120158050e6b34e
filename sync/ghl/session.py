"""One pooled requests.Session per process (recreated in a forked child, never shared across)."""

from __future__ import annotations

import os
import threading

import requests
from requests.adapters import HTTPAdapter

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


def _forget_after_fork() -> None:
    global _session, _lock
    _session = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
