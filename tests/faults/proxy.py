"""A small TCP proxy a test puts between two real processes to inject network faults.

    proxy = TCPProxy(("127.0.0.1", 5432)).start()     # listens on proxy.port
    ...point the app at 127.0.0.1:proxy.port...
    proxy.drop_all()                  # every open connection is cut (RST), as a restart does
    proxy.drop_when(b"INSERT INTO", nth=3)   # ...the moment the 3rd such write passes
    proxy.pause(); proxy.resume()     # stop relaying (connections hang), then carry on
    proxy.reset_next(2)               # the next 2 connections are reset on arrival
    proxy.stop()

Bytes are relayed unchanged both ways, one thread per direction. `drop_when` looks at what the
client sends (a PostgreSQL simple or extended query carries its SQL as text), so a test can cut
the database at an exact point of a worker's writes without touching the worker.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable

_LINGER_RST = struct.pack("ii", 1, 0)


def free_port() -> int:
    """A free loopback port: from TEST_PORT_RANGE ("8100-8199") when set, else any."""
    span = os.environ.get("TEST_PORT_RANGE", "")
    candidates = [0]
    if span:
        low, high = (int(x) for x in span.split("-", 1))
        candidates = list(range(low, high + 1))
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in {span}")


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client, self.upstream = client, upstream
        self.tail = b""  # the end of what the client sent, to match patterns across chunks

    def cut(self) -> None:
        _cut(self.client)
        _cut(self.upstream)


class TCPProxy:
    def __init__(self, upstream: tuple[str, int], *, port: int | None = None):
        self.upstream = upstream
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._pairs: set[_Pair] = set()
        self._lock = threading.Lock()
        self._running = threading.Event()  # set while relaying, cleared by pause()
        self._running.set()
        self._reset_next = 0
        self._triggers: list[list] = []  # [pattern, remaining count, callback]
        self.connections = 0
        self.drops = 0

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> TCPProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, name=f"proxy:{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        self._running.set()
        self.drop_all()

    def __enter__(self) -> TCPProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- faults --------------------------------------------------------------------------------
    def drop_all(self) -> int:
        """Cut every open connection (RST both ways): what a server restart looks like to its
        clients. New connections are accepted as before."""
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
            self.drops += len(pairs)
        for pair in pairs:
            pair.cut()
        return len(pairs)

    def pause(self) -> None:
        """Stop relaying: bytes in flight wait, both ends see a server that does not answer."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def reset_next(self, count: int) -> None:
        """The next `count` connections are cut as soon as they are accepted."""
        with self._lock:
            self._reset_next += count

    def on_client_bytes(self, pattern: bytes, callback: Callable[[], None], nth: int = 1) -> None:
        """Call `callback` (once) when the client has sent `pattern` for the nth time, before
        those bytes are relayed. The callback runs on the relaying thread."""
        with self._lock:
            self._triggers.append([pattern, nth, callback])

    def drop_when(self, pattern: bytes, nth: int = 1) -> threading.Event:
        """Cut every connection the moment the client sends `pattern` for the nth time (those
        bytes never reach the server). Returns an event set when it happened."""
        happened = threading.Event()

        def fire():
            self.drop_all()
            happened.set()

        self.on_client_bytes(pattern, fire, nth)
        return happened

    # --- relaying ------------------------------------------------------------------------------
    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                reset = self._reset_next > 0
                if reset:
                    self._reset_next -= 1
            if reset:
                _cut(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _cut(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, False), daemon=True).start()

    def _pump(self, pair: _Pair, from_client: bool) -> None:
        src, dst = (pair.client, pair.upstream) if from_client else (pair.upstream, pair.client)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    self._fire_triggers(pair, data)  # may cut or pause before relaying
                self._running.wait()
                with self._lock:
                    alive = pair in self._pairs
                if not alive:
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            pair.cut()

    def _fire_triggers(self, pair: _Pair, data: bytes) -> None:
        window = pair.tail + data
        fired = []
        with self._lock:
            for trigger in self._triggers:
                pattern = trigger[0]
                hits = window.count(pattern) - pair.tail.count(pattern)
                if hits <= 0:
                    continue
                trigger[1] -= hits
                if trigger[1] <= 0:
                    fired.append(trigger)
            for trigger in fired:
                self._triggers.remove(trigger)
            longest = max((len(t[0]) for t in self._triggers), default=64)
        pair.tail = window[-longest:]
        for trigger in fired:
            trigger[2]()
