"""Every route of the project requires authentication unless it is on one reviewed list.

The sweep is behavioural: each URL pattern is reversed with sample arguments and requested
anonymously with GET and POST. A route that does not turn the request away (401, or the staff
sign-in redirect for admin) is public, and a public route must be listed below or in an app's
tests/<app>/public_routes.py, with the reason it may be public.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import uuid
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import (
    IntConverter,
    PathConverter,
    SlugConverter,
    StringConverter,
    UUIDConverter,
)

# Reviewed list of public routes: URL name -> why it may be reached without a session.
PUBLIC_ROUTES = {
    "healthz": "liveness probe, no I/O",
    "readyz": "readiness probe, reports only ok/failed per part",
    "admin:login": "staff sign-in entry point (Django accounts with a second factor)",
}

SAMPLES = ["1", "x", "accounts", "auth", str(uuid.UUID(int=1)), "Loc0001", "2026-01-01"]


def all_public_routes() -> dict[str, str]:
    routes = dict(PUBLIC_ROUTES)
    tests_dir = Path(__file__).resolve().parents[1]
    for info in pkgutil.iter_modules([str(tests_dir)]):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"tests.{info.name}.public_routes")
        except ModuleNotFoundError:
            continue
        listed = module.PUBLIC_ROUTES
        # A set of names with a comment each, or a dict of name -> reason.
        routes.update(listed if isinstance(listed, dict) else dict.fromkeys(listed, info.name))
    return routes


def _walk(patterns, namespace=None, converters=None):
    for entry in patterns:
        found = dict(converters or {})
        pattern = entry.pattern
        found.update(getattr(pattern, "converters", {}) or {})
        regex_groups = pattern.regex.groupindex.keys()
        for group in regex_groups:
            found.setdefault(group, None)
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry.url_patterns, full_ns, found)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, found


def _candidates(converter):
    if isinstance(converter, IntConverter):
        return ["1"]
    if isinstance(converter, UUIDConverter):
        return [str(uuid.UUID(int=1))]
    if isinstance(converter, SlugConverter | StringConverter | PathConverter):
        return ["x", "Loc0001"]
    return SAMPLES


def reverse_with_samples(name: str, params: dict) -> str | None:
    keys = list(params)
    for values in itertools.product(*[_candidates(params[k]) for k in keys]):
        try:
            return reverse(name, kwargs=dict(zip(keys, values, strict=True)))
        except NoReverseMatch:
            continue
    return None


def project_routes():
    seen = {}
    for name, params in _walk(get_resolver().url_patterns):
        url = reverse_with_samples(name, params)
        if url is not None:
            seen.setdefault(name, url)
    return sorted(seen.items())


def turned_away(response, name: str) -> bool:
    if name.startswith("admin:"):
        # Django admin sends anyone who is not active staff to its own sign-in (logout to index).
        return response.status_code == 302 and response["Location"].startswith("/admin/")
    return response.status_code == 401


ROUTES = project_routes()


def test_the_sweep_sees_the_whole_project():
    names = {name for name, _ in ROUTES}
    assert {"healthz", "readyz", "admin:login", "admin:index"} <= names
    assert len(names) > 20  # admin alone has dozens; a broken walk would find few


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "url"), ROUTES, ids=[n for n, _ in ROUTES])
def test_route_requires_authentication_unless_reviewed_public(client, name, url):
    public = all_public_routes()
    responses = [
        client.get(url, HTTP_ACCEPT="text/html"),
        client.get(url, HTTP_ACCEPT="application/json"),
        client.post(url, data={}, HTTP_ACCEPT="text/html"),
    ]
    if name in public:
        return
    for response in responses:
        assert turned_away(response, name), (
            f"{name} ({url}) answered {response.status_code} to an anonymous request; "
            "mark it public and add it to the reviewed list, or let the guard protect it"
        )


def test_reviewed_public_list_has_no_stale_entries():
    names = {name for name, _ in ROUTES}
    assert set(all_public_routes()) - names == set()


@pytest.mark.urls("tests.gocsm.probe_urls")
def test_turned_away_html_gets_the_open_from_ghl_page_and_json_gets_a_json_body(client, db):
    html = client.get("/probe/protected/", HTTP_ACCEPT="text/html")
    assert html.status_code == 401
    assert "open GoCSM from GoHighLevel" in html.content.decode()
    data = client.get("/probe/protected/", HTTP_ACCEPT="application/json")
    assert data.status_code == 401
    assert data.json()["error"] == "unauthenticated"
    posted = client.post("/probe/protected/", data="{}", content_type="application/json")
    assert posted.status_code == 401


@pytest.mark.urls("tests.gocsm.probe_urls")
def test_a_signed_in_agency_user_passes_the_guard(client, personas, login):
    login(personas["user_a"])
    response = client.get("/probe/protected/")
    assert response.status_code == 200
    assert response.content.decode() == f"hello {personas['user_a'].name}"


@pytest.mark.urls("tests.gocsm.probe_urls")
def test_a_view_marked_public_is_reachable_anonymously(client, db):
    assert client.get("/probe/public/").content == b"open"


@pytest.mark.urls("tests.gocsm.probe_urls")
def test_a_session_of_an_uninstalled_agency_is_turned_away(client, personas, login):
    login(personas["owner_a"])
    agency = personas["agency_a"]
    agency.is_installed = False
    agency.save()
    assert client.get("/probe/protected/").status_code == 401
