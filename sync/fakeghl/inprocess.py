"""A requests transport that hands each request to the fake GHL in this process, no socket.

    session.mount(fake.base_url, InProcessTransport(fake))

The fake decides every answer exactly as it does over HTTP (sync.fakeghl.server.Responder:
routing, Version header, tokens, scopes, rate limits, faults, bodies, status codes, headers, the
request log); only the loopback socket, HTTP/1.1 framing and the two thread hand-offs per
request are skipped. The demo uses it while it simulates months of daily pulls: on a busy
two-core machine those hand-offs, not the work, made a request cost ~4 ms of wall time.
"""

from __future__ import annotations

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from sync.fakeghl.server import FakeGHL

_REASONS = {200: "OK", 201: "Created", 302: "Found", 400: "Bad Request", 401: "Unauthorized"}


class InProcessTransport(BaseAdapter):
    def __init__(self, fake: FakeGHL):
        super().__init__()
        self.fake = fake

    def send(self, request: PreparedRequest, stream=False, timeout=None, verify=True, cert=None,
             proxies=None) -> Response:  # fmt: skip
        url = request.url or ""
        target = url[len(self.fake.base_url) :] if url.startswith(self.fake.base_url) else url
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = CaseInsensitiveDict(request.headers)
        if body:
            headers["Content-Length"] = str(len(body))
        reply = self.fake.responder.respond(request.method or "GET", target, headers, body)
        if reply.reset:
            raise requests.exceptions.ConnectionError("connection reset by the fake GHL")
        if reply.stream_size:
            raise NotImplementedError("huge_body is served over HTTP only (FakeGHL.start())")
        response = Response()
        response.status_code = reply.status
        response.reason = _REASONS.get(reply.status, "")
        response.headers = CaseInsensitiveDict(reply.headers)
        if reply.content_type:
            response.headers["Content-Type"] = reply.content_type
        response.headers["Content-Length"] = str(len(reply.body))
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = reply.body
        response._content_consumed = True  # iter_content() serves _content in slices
        response.url = url
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        return None
