"""Sync routes. Which of them are public is checked by the project-wide sweep
(tests/gocsm/test_url_guard.py) against tests/sync/public_routes.py."""


def test_webhook_refuses_get(client, db):
    assert client.get("/webhooks/ghl/").status_code == 405
