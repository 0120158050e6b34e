"""The fake GHL's answers validate against GHL's own OpenAPI specs, so the fake cannot drift.

Specs are copies of GHL's own in tests/fixtures/ghl/openapi (its SOURCES.md says whence). The
SaaS `/saas/...` paths have no response schemas; their deprecated `/saas-api/public-api/...` twins
do (docs/GHL_API.md §6.9).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from sync.fakeghl import FakeGHL
from sync.scopes import SCOPES

OPENAPI = Path(__file__).resolve().parents[1] / "fixtures" / "ghl" / "openapi"

# Spec quirk: CalendarEventDTO types these as "object", yet its own examples (and GHL's answers)
# are ISO date strings. Allow both rather than make the fake wrong.
QUIRKS = {
    ("calendars.json", "CalendarEventDTO"): ["startTime", "endTime", "dateAdded", "dateUpdated"],
}


def _registry() -> tuple[Registry, dict[str, dict]]:
    docs, resources = {}, []
    for path in sorted(OPENAPI.rglob("*.json")):
        doc = json.loads(path.read_text())
        rel = path.relative_to(OPENAPI).as_posix()
        for (name, schema), fields in QUIRKS.items():
            if rel == f"apps/{name}":
                props = doc["components"]["schemas"][schema]["properties"]
                for field in fields:
                    props[field] = dict(props[field], type=["object", "string"])
        docs[rel] = doc
        resources.append((path.as_uri(), Resource.from_contents(doc, default_specification=DRAFT7)))
    return Registry().with_resources(resources), docs


@pytest.fixture(scope="module")
def specs():
    if not OPENAPI.is_dir():
        pytest.fail(f"GHL OpenAPI specs not found at {OPENAPI}")
    return _registry()


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def validate(specs, spec_file: str, path: str, method: str, status: str, body) -> None:
    registry, docs = specs
    op = docs[f"apps/{spec_file}"]["paths"][path][method]
    assert status in op["responses"], f"{path} has no {status} response in the spec"
    pointer = "/".join(
        [
            "",
            "paths",
            _escape(path),
            method,
            "responses",
            status,
            "content",
            "application~1json",
            "schema",
        ]
    )
    uri = (OPENAPI / "apps" / spec_file).as_uri()
    validator = Draft7Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
    errors = sorted(validator.iter_errors(copy.deepcopy(body)), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


@pytest.fixture(scope="module")
def world():
    fake = FakeGHL(seed=5, agencies=[("Schema Agency", 15)])
    url = fake.start()
    code = fake.state.issue_code(
        fake.client_id, fake.company_ids[0], "http://x/cb", " ".join(SCOPES), "U1"
    )
    token = requests.post(
        f"{url}/oauth/token",
        timeout=5,
        data={
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "user_type": "Company",
        },
    ).json()
    yield fake, url, token
    fake.stop()


def _get(url, path, token, version, **params):
    resp = requests.get(
        url + path,
        params=params,
        timeout=5,
        headers={"Authorization": f"Bearer {token}", "Version": version},
    )
    assert resp.status_code == 200, (path, resp.status_code, resp.text[:200])
    return resp.json()


def test_token_responses_match_the_spec(specs, world):
    fake, url, token = world
    validate(specs, "oauth.json", "/oauth/token", "post", "200", token)
    refreshed = requests.post(
        f"{url}/oauth/token",
        timeout=5,
        data={
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "user_type": "Company",
        },
    )
    assert refreshed.status_code == 200
    validate(specs, "oauth.json", "/oauth/token", "post", "200", refreshed.json())
    world[2].update(refreshed.json())


def test_agency_endpoints_match_the_spec(specs, world):
    fake, url, token = world
    access, company = token["access_token"], fake.company_ids[0]
    v1, v2 = "2021-07-28", "2021-04-15"
    checks = [
        (
            "oauth.json",
            "/oauth/installedLocations",
            _get(
                url, "/oauth/installedLocations", access, v1, companyId=company, appId=fake.app_id
            ),
        ),
        (
            "locations.json",
            "/locations/search",
            _get(url, "/locations/search", access, v1, companyId=company, limit="100"),
        ),
        ("users.json", "/users/search", _get(url, "/users/search", access, v1, companyId=company)),
        (
            "companies.json",
            "/companies/{companyId}",
            _get(url, f"/companies/{company}", access, v1),
        ),
    ]
    locations = checks[1][2]["locations"]
    loc = locations[0]["id"]
    user = checks[2][2]["users"][0]["id"]
    checks += [
        ("locations.json", "/locations/{locationId}", _get(url, f"/locations/{loc}", access, v1)),
        ("users.json", "/users/{userId}", _get(url, f"/users/{user}", access, v1)),
    ]
    saas = _get(url, f"/saas/saas-locations/{company}", access, v2, page="1")
    plans = _get(url, f"/saas/agency-plans/{company}", access, v2)
    saas_loc = saas["locations"][0]["locationId"]
    checks += [
        ("saas-api.json", "/saas-api/public-api/saas-locations/{companyId}", saas),
        ("saas-api.json", "/saas-api/public-api/agency-plans/{companyId}", plans),
        (
            "saas-api.json",
            "/saas-api/public-api/get-saas-subscription/{locationId}",
            _get(url, f"/saas/get-saas-subscription/{saas_loc}", access, v2, companyId=company),
        ),
        (
            "saas-api.json",
            "/saas-api/public-api/saas-plan/{planId}",
            _get(url, f"/saas/saas-plan/{plans[0]['planId']}", access, v2, companyId=company),
        ),
    ]
    for spec_file, path, body in checks:
        validate(specs, spec_file, path, "get", "200", body)


def test_location_endpoints_match_the_spec(specs, world):
    fake, url, token = world
    access, company = token["access_token"], fake.company_ids[0]
    v1, v2 = "2021-07-28", "2021-04-15"
    loc = _get(url, "/locations/search", access, v1, companyId=company)["locations"][0]["id"]
    minted = requests.post(
        f"{url}/oauth/locationToken",
        timeout=5,
        data={"companyId": company, "locationId": loc},
        headers={"Authorization": f"Bearer {access}", "Version": v1},
    )
    assert minted.status_code == 200
    validate(specs, "oauth.json", "/oauth/locationToken", "post", "200", minted.json())
    lt = minted.json()["access_token"]
    calendars = _get(url, "/calendars/", lt, v2, locationId=loc)
    assert calendars["calendars"]
    day_ms = 86_400_000
    import time

    now_ms = int(time.time() * 1000)
    events = _get(
        url,
        "/calendars/events",
        lt,
        v2,
        locationId=loc,
        calendarId=calendars["calendars"][0]["id"],
        startTime=str(now_ms - 60 * day_ms),
        endTime=str(now_ms + 7 * day_ms),
    )
    assert events["events"], "the world should have booked appointments in 60 days"
    conversations = _get(url, "/conversations/search", lt, v2, locationId=loc)
    assert conversations["conversations"]
    checks = [
        ("workflows.json", "/workflows/", _get(url, "/workflows/", lt, v1, locationId=loc)),
        ("calendars.json", "/calendars/", calendars),
        ("calendars.json", "/calendars/events", events),
        ("products.json", "/products/", _get(url, "/products/", lt, v1, locationId=loc)),
        ("conversations.json", "/conversations/search", conversations),
    ]
    for spec_file, path, body in checks:
        validate(specs, spec_file, path, "get", "200", body)


def test_error_bodies_match_the_spec(specs, world):
    _fake, url, token = world
    resp = requests.get(
        f"{url}/locations/search",
        timeout=5,
        headers={"Authorization": "Bearer nope", "Version": "2021-07-28"},
    )
    assert resp.status_code == 401
    validate(specs, "locations.json", "/locations/search", "get", "401", resp.json())
    resp = requests.get(
        f"{url}/locations/search",
        timeout=5,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert resp.status_code == 400  # missing Version header
    validate(specs, "locations.json", "/locations/search", "get", "400", resp.json())


def test_wrong_version_header_is_refused_per_service(world):
    fake, url, token = world
    headers = {"Authorization": f"Bearer {token['access_token']}", "Version": "2021-07-28"}
    resp = requests.get(
        f"{url}/saas/agency-plans/{fake.company_ids[0]}", headers=headers, timeout=5
    )
    assert resp.status_code == 400


def test_rate_limit_headers_and_429_after_the_burst(world):
    fake = FakeGHL(seed=2, agencies=[("Tiny", 2)], burst=5, interval_seconds=60)
    url = fake.start()
    try:
        code = fake.state.issue_code(
            fake.client_id, fake.company_ids[0], "http://x", "companies.readonly", "U"
        )
        token = requests.post(
            f"{url}/oauth/token",
            timeout=5,
            data={
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
                "grant_type": "authorization_code",
                "code": code,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        statuses = [
            requests.get(f"{url}/companies/{fake.company_ids[0]}", headers=headers, timeout=5)
            for _ in range(6)
        ]
        assert [r.status_code for r in statuses] == [200] * 5 + [429]
        assert statuses[0].headers["X-RateLimit-Max"] == "5"
        assert statuses[0].headers["X-RateLimit-Remaining"] == "4"
        assert statuses[0].headers["X-RateLimit-Interval-Milliseconds"] == "60000"
        assert statuses[0].headers["X-RateLimit-Limit-Daily"] == "200000"
        assert statuses[5].headers["X-RateLimit-Remaining"] == "0"
    finally:
        fake.stop()


def test_refresh_tokens_are_single_use(world):
    fake, url, token = world
    form = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
    }
    first = requests.post(f"{url}/oauth/token", data=form, timeout=5)
    second = requests.post(f"{url}/oauth/token", data=form, timeout=5)
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert first.json()["refresh_token"] != token["refresh_token"]
    token.update(first.json())


def test_admin_endpoint_switches_faults_and_moves_the_clock(world):
    fake, url, token = world
    requests.post(f"{url}/_fake/faults", json={"kind": "5xx", "count": 1, "status": 503}, timeout=5)
    headers = {"Authorization": f"Bearer {token['access_token']}", "Version": "2021-07-28"}
    company_url = f"{url}/companies/{fake.company_ids[0]}"
    first = requests.get(company_url, headers=headers, timeout=5)
    second = requests.get(company_url, headers=headers, timeout=5)
    assert (first.status_code, second.status_code) == (503, 200)
    day = fake.today()
    moved = requests.post(f"{url}/_fake/clock", json={"days": 2}, timeout=5).json()
    assert moved["day"] == day + 2
    # Two simulated days later the ~24 h access token has expired, as GHL's would.
    assert requests.get(company_url, headers=headers, timeout=5).status_code == 401
    state = requests.get(f"{url}/_fake/state", timeout=5).json()
    assert state["companies"] == fake.company_ids


def test_a_thousand_sub_account_world_is_cheap_and_deterministic():
    import time

    started = time.perf_counter()
    a = FakeGHL(seed=9, locations=1500)
    b = FakeGHL(seed=9, locations=1500)
    assert time.perf_counter() - started < 5
    cid = a.company_ids[0]
    assert [x.id for x in a.world.locations(cid, 0)] == [x.id for x in b.world.locations(cid, 0)]
    # Most exist today; the others were deleted (clients lost) or are not created yet.
    assert 800 < len(a.world.locations(cid, 0)) < 1500
    # The world evolves: sub-accounts come and go over 120 days.
    assert {x.id for x in a.world.locations(cid, 0)} != {x.id for x in a.world.locations(cid, 120)}


def test_the_schema_check_catches_a_drifted_body(specs):
    drifted = {"conversations": [{"id": "x"}], "total": "many"}
    with pytest.raises(AssertionError):
        validate(specs, "conversations.json", "/conversations/search", "get", "200", drifted)
