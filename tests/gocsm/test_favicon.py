"""The icon browsers ask for on their own, and the one every page links to."""

import pytest


def test_favicon_is_public_and_leads_to_the_static_icon(client):
    # No database fixture: the route does no I/O (pytest-django fails any query).
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/img/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    body = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header, not an HTML error page


@pytest.mark.django_db
def test_pages_and_error_pages_link_the_icon(client, personas, login):
    assert 'rel="icon"' in client.get("/nowhere/", HTTP_ACCEPT="text/html").content.decode()
    page = login(personas["owner_a"]).get("/app/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
