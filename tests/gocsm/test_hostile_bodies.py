"""No input reaches a 500: every route, anonymous or signed in, answers hostile and malformed
bodies with a 4xx (or its own 503 when a store is down), never a server error.

Endpoint-specific answers (the SSO's generic 403, a beacon's 400, a webhook's 400 after its
signature) are checked beside each endpoint's own tests; this sweep makes sure no route was
forgotten.
"""

from __future__ import annotations

import pytest

from tests.gocsm.test_url_guard import ROUTES, all_public_routes

DEPTH = 100_000
NESTED = "[" * DEPTH + "]" * DEPTH  # about 200 KB: under the body cap

HOSTILE = {
    "nested-array": (NESTED, "application/json"),
    "nested-in-object": ('{"payload": ' + NESTED + "}", "application/json"),
    # Small enough for the tightest cap (activity beacons).
    "nested-small": ("[" * 2_000 + "]" * 2_000, "text/plain;charset=UTF-8"),
    "nested-as-text": ('{"a":' * 50_000 + "1" + "}" * 50_000, "text/plain;charset=UTF-8"),
    "invalid-utf8": (b'{"payload": "\xff\xfe\xfd"}', "application/json"),
    "huge-integer": ('{"payload": ' + "9" * 20_000 + "}", "application/json"),
    "nan": ('{"payload": NaN, "v": Infinity}', "application/json"),
    "lone-surrogate": ('{"payload": "\\ud800", "name": "\\udfff"}', "application/json"),
    "nul-bytes": ('{"payload": "a\\u0000b"}', "application/json"),
    "multipart-garbage": (b"--x\r\nnot a part\r\n--x--", "multipart/form-data; boundary=x"),
    "multipart-no-boundary": (b"a=1", "multipart/form-data"),
    "too-many-fields": (
        "&".join(f"f{i}=1" for i in range(5_000)),
        "application/x-www-form-urlencoded",
    ),
    "unknown-charset": ("payload=1", "application/x-www-form-urlencoded; charset=no-such"),
    "form-nul": ("payload=%00&plan=%00&w_logins=%00", "application/x-www-form-urlencoded"),
}


def _assert_no_server_error(response, name, url, kind):
    assert response.status_code < 500 or response.status_code == 503, (
        f"{name} ({url}) answered {response.status_code} to a {kind} body"
    )
    body = response.content.decode("utf-8", "replace")
    assert "Traceback" not in body
    assert "RecursionError" not in body


def _post(client, url, body, content_type):
    # Our own Origin, as a browser sends it: the SSO endpoint reads no body without it.
    return client.generic(
        "POST",
        url,
        body,
        content_type=content_type,
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="http://testserver",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_no_route_answers_a_hostile_body_with_a_server_error(client, kind, personas, login):
    body, content_type = HOSTILE[kind]
    from django.test import Client

    public = all_public_routes()
    for name, url in ROUTES:
        _assert_no_server_error(_post(client, url, body, content_type), name, url, kind)
        if name.startswith("admin:"):
            continue  # a GHL session never reaches admin: the anonymous answer covers it
        # A fresh session per route: one of them is logout.
        signed_in = login(personas["owner_a"], Client())
        response = _post(signed_in, url, body, content_type)
        _assert_no_server_error(response, name, url, kind)
        if name not in public:
            assert response.status_code != 401, f"{name} ({url}) was not reached signed in"


HOSTILE_QUERIES = {
    "nul": "\x00",
    "long": "9" * 5_000,
    "nested-brackets": "[" * 2_000,
    "unicode": "\U0001f600\u202e",
    "negative": "-1",
    "lone-surrogate-escape": "%ED%A0%80",
}
QUERY_KEYS = (
    "page",
    "sort",
    "q",
    "band",
    "flag",
    "format",
    "state",
    "code",
    "error",
    "user",
    "checkout",
    "v",
    "days",
    "from",
    "to",
    "next",
)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE_QUERIES))
def test_no_route_answers_a_hostile_query_with_a_server_error(client, kind, personas, login):
    from urllib.parse import quote

    from django.test import Client

    value = HOSTILE_QUERIES[kind]
    encoded = value if value.startswith("%") else quote(value)
    query = "&".join(f"{key}={encoded}" for key in QUERY_KEYS)
    for name, url in ROUTES:
        target = f"{url}?{query}"
        _assert_no_server_error(client.get(target), name, url, f"{kind} query")
        if name.startswith("admin:"):
            continue
        signed_in = login(personas["owner_a"], Client())
        _assert_no_server_error(signed_in.get(target), name, url, f"{kind} query")
