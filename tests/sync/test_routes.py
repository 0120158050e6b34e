"""Every sync route is either on the reviewed public list or behind the auth guard."""

from __future__ import annotations

from django.urls import get_resolver

from gocsm.authguard import is_public
from tests.sync.public_routes import PUBLIC_ROUTES


def _sync_routes():
    resolver = get_resolver()
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        if namespace != "sync":
            continue
        for pattern in sub.url_patterns:
            yield f"sync:{pattern.name}", pattern.callback


def test_public_sync_routes_are_exactly_the_reviewed_ones():
    public = {name for name, view in _sync_routes() if is_public(view)}
    assert public == PUBLIC_ROUTES


def test_webhook_refuses_get(client, db):
    assert client.get("/webhooks/ghl/").status_code == 405
