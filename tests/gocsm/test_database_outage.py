"""A database that does not answer gives a clear 503 with Retry-After, never a 500; what does not
need the missing database keeps working.

The outage is real: the alias is pointed at a loopback port nothing listens on (PostgreSQL) or at
a file that cannot be opened (SQLite), so the driver's own connection error is what the app sees.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager, suppress

import pytest
from django.db import connections
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextmanager
def unreachable(alias: str):
    connection = connections[alias]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/secret-path/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def owner(personas, login):
    return login(personas["owner_a"], Client())


def assert_explained_503(response, words: str):
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert words in body
    for leak in ("Traceback", "OperationalError", "secret-path", "127.0.0.1", "connection"):
        assert leak not in body


@pytest.mark.parametrize("url", ["/app/", "/app/settings/", "/billing/", "/security/", "/auth/me/"])
def test_every_page_answers_503_while_the_main_database_is_down(owner, url):
    with unreachable("default"):
        response = owner.get(url, HTTP_ACCEPT="text/html")
    assert_explained_503(response, "cannot reach its database")
    assert owner.get(url).status_code == 200  # and heals by itself


def test_json_clients_get_a_json_503(owner):
    with unreachable("default"):
        response = owner.get("/auth/me/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["error"] == "unavailable"


def test_sign_in_answers_503_while_the_main_database_is_down(personas, settings):
    from django.utils import timezone

    from accounts.sso import encrypt_payload

    settings.GHL_SSO_SHARED_SECRET = "outage-test-secret"
    owner = personas["owner_a"]
    owner.confirmed_by_ghl_at = timezone.now()  # on GHL's synced user list
    owner.save()
    claims = {"userId": owner.ghl_id, "companyId": owner.agency.company_id, "role": "admin"}

    def sign_in():
        return Client().post(
            "/auth/sso/",
            {"payload": encrypt_payload(claims, settings.GHL_SSO_SHARED_SECRET)},
            content_type="application/json",
            HTTP_ORIGIN="http://testserver",
        )

    with unreachable("default"):
        response = sign_in()
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert sign_in().status_code == 200


@pytest.mark.parametrize("url", ["/app/", "/app/at-risk/", "/app/settings/"])
def test_pages_that_need_analytics_answer_503_while_it_is_down(owner, url):
    with unreachable("analytics"):
        response = owner.get(url, HTTP_ACCEPT="text/html")
    assert_explained_503(response, "analytics database")
    assert owner.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/billing/", "/security/", "/auth/me/"])
def test_pages_that_do_not_need_analytics_keep_working_while_it_is_down(owner, url):
    with unreachable("analytics"):
        response = owner.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200


def test_health_checks_still_answer(client):
    with unreachable("default"):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


def test_a_real_error_is_still_a_500(rf):
    from gocsm.errors import server_error

    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        response = server_error(rf.get("/x"))
    assert response.status_code == 500
    assert "Retry-After" not in response


class TcpProxy:
    """Forwards a loopback port to PostgreSQL until stopped; stopping drops every connection,
    as a server that dies or fails over does."""

    def __init__(self, target_host: str, target_port: int):
        import threading

        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading

        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.running:
                client.close()
                return
            upstream = socket.create_connection(self.target, timeout=5)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self):
        self.running = False
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


@pytest.mark.services
def test_a_server_that_dies_under_open_connections_gives_503_and_heals(owner):
    from django.db import close_old_connections

    connection = connections["default"]
    saved = dict(connection.settings_dict)
    proxy = TcpProxy(saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432))
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    try:
        assert owner.get("/auth/me/").status_code == 200  # a persistent connection, proxied
        proxy.stop()  # the server goes away under it
        assert_explained_503(owner.get("/auth/me/", HTTP_ACCEPT="text/html"), "database")
        close_old_connections()  # what the end of every request does in production
        assert_explained_503(owner.get("/app/", HTTP_ACCEPT="text/html"), "database")
        close_old_connections()
        proxy = TcpProxy(saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432))
        connection.settings_dict.update(PORT=str(proxy.port))
        assert owner.get("/auth/me/").status_code == 200  # back without a restart of ours
    finally:
        proxy.stop()
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
