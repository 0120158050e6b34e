"""Outbound HTTP for webhook actions, refusing anything but public https endpoints.

- Only `https` URLs, without user info. The host is resolved once; every address it resolves to
  must be public (no loopback, private, link-local incl. the 169.254.169.254 metadata address,
  shared/CGNAT, multicast, reserved or unspecified ranges), and the connection goes to that
  resolved address (TLS still verifies the certificate against the host name): a name cannot
  resolve to a public address for the check and a private one for the connection.
- Redirects are not followed (a 3xx is a failure), timeouts bound connect and read, and at most
  RESPONSE_CAP bytes of an answer are read.
- Tests and the demo reach their own local receivers through PLAYBOOKS_LOCAL_RECEIVERS
  ("host:port" entries, plain http allowed), honoured only in embedded (DEBUG or test) mode.

Nothing here logs or returns a URL; errors are our own short sentences.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESPONSE_CAP = 64 * 1024


class Refused(ValueError):
    """The URL may not be called (not https, private address, unresolvable...)."""


@dataclass
class Answer:
    status: int | None
    error: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Worth another attempt: no answer, 408/429 or a server error."""
        return self.status is None or self.status in (408, 425, 429) or self.status >= 500


def _local_receivers() -> set[str]:
    if not settings.EMBEDDED:
        return set()
    return {r.strip().lower() for r in settings.PLAYBOOKS_LOCAL_RECEIVERS if r.strip()}


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str


def check(url: str) -> Target:
    """Parse, resolve once and vet `url`; raises Refused with a reason fit to show."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Refused("not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL may not carry a user name or password")
    local = f"{host}:{port or (443 if parts.scheme == 'https' else 80)}" in _local_receivers()
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise Refused("only https URLs are allowed")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]  # an address: no lookup
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused("the host name does not resolve") from exc
        addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Refused("the host name does not resolve")
    if not local and not all(is_public(a) for a in addresses):
        raise Refused("the host resolves to a private, loopback or link-local address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, addresses[0], path)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address resolved beforehand; SNI and certificate check use the host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection(
            (self._address, self.port), timeout=settings.PLAYBOOKS_CONNECT_TIMEOUT_SECONDS
        )
        sock.settimeout(self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection(
            (self._address, self.port), timeout=settings.PLAYBOOKS_CONNECT_TIMEOUT_SECONDS
        )
        self.sock.settimeout(self.timeout)


def post_json(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` once. Raises Refused before any connection if the URL may not be
    called; connection trouble comes back as an Answer without a status."""
    target = check(url)
    timeout = settings.PLAYBOOKS_READ_TIMEOUT_SECONDS
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target, timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "GoCSM-Playbooks/1",
                **headers,
            },
        )
        response = conn.getresponse()
        data = response.read(RESPONSE_CAP)
        return Answer(response.status, "", data)
    except TimeoutError:
        return Answer(None, "timed out")
    except ssl.SSLError:
        return Answer(None, "TLS handshake failed")
    except ConnectionRefusedError:
        return Answer(None, "connection refused")
    except (OSError, http.client.HTTPException):
        return Answer(None, "connection failed")
    finally:
        conn.close()


def mask_url(url: str) -> str:
    """What pages, admin and logs may show of a webhook URL: scheme and host, never the path
    (GHL's and Slack's webhook paths are the secret)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "••••"
    return f"{parts.scheme}://{host}/••••" if host else "••••"


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
