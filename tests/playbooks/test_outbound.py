"""Outbound calls go only to https URLs whose resolved address is public, connected to that
address; tests' own receivers pass only through PLAYBOOKS_LOCAL_RECEIVERS, and only in embedded
mode."""

from __future__ import annotations

import socket

import pytest

from analytics.playbooks import outbound


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "only https"),
        ("https://127.0.0.1/hooks/x", "private, loopback or link-local"),
        ("https://localhost:8443/x", "private, loopback or link-local"),
        ("https://[::1]/x", "private, loopback or link-local"),
        ("https://10.1.2.3/x", "private, loopback or link-local"),
        ("https://192.168.0.10/x", "private, loopback or link-local"),
        ("https://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
        ("https://100.100.100.200/x", "private, loopback or link-local"),
        ("https://[::ffff:10.0.0.1]/x", "private, loopback or link-local"),
        ("https://0.0.0.0/x", "private, loopback or link-local"),
        ("https://user:pw@8.8.8.8/x", "user name or password"),
        ("https:///nohost", "no host"),
        ("https://does-not-resolve.invalid/x", "does not resolve"),
    ],
)
def test_refused(url, reason):
    with pytest.raises(outbound.Refused, match=reason):
        outbound.check(url)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))],
    )
    with pytest.raises(outbound.Refused, match="private"):
        outbound.check("https://services.leadconnectorhq.com/hooks/abc/webhook-trigger/x")


def test_a_public_name_passes_and_is_pinned_to_the_address_it_resolved_to(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 443))],
    )
    target = outbound.check("https://hooks.slack.com/services/T1/B2/xyz?a=1")
    assert (target.host, target.port, target.address, target.path) == (
        "hooks.slack.com",
        443,
        "8.8.8.8",
        "/services/T1/B2/xyz?a=1",
    )


def test_resolved_once_and_connected_to_that_address(settings, monkeypatch, slack):
    """No DNS-rebinding gap: the name is resolved once, and the connection goes to the address
    that was checked, whatever the name resolves to afterwards."""
    settings.PLAYBOOKS_LOCAL_RECEIVERS = [f"rebind.localhost:{slack.port}"]
    real = socket.getaddrinfo
    calls = []

    def resolver(host, *a, **k):
        calls.append(host)
        if host == "rebind.localhost":
            # First answer: the receiver; any later answer would point elsewhere.
            target = "127.0.0.1" if len(calls) == 1 else "127.0.0.2"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (target, slack.port))]
        return real(host, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = slack.new_webhook().replace("127.0.0.1", "rebind.localhost")
    answer = outbound.post_json(url, b'{"text": "hi"}', {})
    assert answer.status == 200 and slack.messages == [{"text": "hi"}]
    assert calls.count("rebind.localhost") == 1


def test_local_receivers_pass_only_when_listed_and_only_in_embedded_mode(settings, slack):
    url = slack.new_webhook()
    with pytest.raises(outbound.Refused):
        outbound.check(url)
    settings.PLAYBOOKS_LOCAL_RECEIVERS = [f"127.0.0.1:{slack.port}"]
    assert outbound.check(url).address == "127.0.0.1"
    settings.EMBEDDED = False  # production: the list is ignored
    with pytest.raises(outbound.Refused, match="only https"):
        outbound.check(url)


def test_response_size_is_capped_and_redirects_are_not_followed(settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            return

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(160):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.PLAYBOOKS_LOCAL_RECEIVERS = [f"127.0.0.1:{port}"]
    try:
        big = outbound.post_json(f"http://127.0.0.1:{port}/big", b"{}", {})
        assert big.status == 200 and len(big.body) == outbound.RESPONSE_CAP
        moved = outbound.post_json(f"http://127.0.0.1:{port}/redirect", b"{}", {})
        assert moved.status == 302 and not moved.ok and not moved.retryable
    finally:
        server.shutdown()
        server.server_close()


def test_mask_url_keeps_only_scheme_and_host():
    url = "https://services.leadconnectorhq.com/hooks/Loc123/webhook-trigger/9f1c2d3e-0000"
    assert outbound.mask_url(url) == "https://services.leadconnectorhq.com/••••"
    assert "9f1c2d3e" not in outbound.mask_url(url)
