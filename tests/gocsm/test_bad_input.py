"""Malformed requests get our own clean error pages, never a stack trace, and log no secret."""

import logging

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["evil.example.com", "bad host!", "a" * 300, "localhost:notaport"])
def test_malformed_or_foreign_host_gets_a_clean_400(client, host, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", HTTP_HOST=host)
    body = response.content.decode()
    assert response.status_code == 400
    assert "could not be understood" in body
    assert "Traceback" not in body and "DisallowedHost" not in body
    assert host not in body


@pytest.mark.django_db
def test_oversized_body_is_refused_with_413_before_any_view(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    response = client.post(
        "/auth/sso/",
        data="x" * 2048,
        content_type="application/octet-stream",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()


@pytest.mark.django_db
def test_oversized_json_body_gets_a_json_413(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    response = client.post(
        "/healthz", data='{"a": "' + "x" * 4096 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "message": "The request is too large."}


@pytest.mark.django_db
def test_negative_or_garbled_content_length_is_a_400(client):
    response = client.generic("POST", "/healthz", b"", CONTENT_LENGTH="-5")
    assert response.status_code == 400
    response = client.generic("POST", "/healthz", b"", CONTENT_LENGTH="12abc")
    assert response.status_code == 400


@pytest.mark.django_db
def test_unknown_path_gets_our_404_page_to_anyone(client):
    response = client.get("/no/such/page/?token=abc", HTTP_ACCEPT="text/html")
    # Anonymous requests to unknown paths are 404: the guard runs only for resolved views.
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert "/no/such/page" not in body and "token" not in body


def test_server_error_page_reveals_nothing(rf):
    from gocsm.errors import server_error

    response = server_error(rf.get("/x?password=hunter2"))
    assert response.status_code == 500
    assert "hunter2" not in response.content.decode()
    assert "went wrong" in response.content.decode()
