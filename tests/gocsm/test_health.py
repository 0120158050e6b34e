import pytest
from django.db import connections


def test_healthz_does_no_io(client):
    # No database fixture: pytest-django fails any query made here.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_both_databases_and_the_cache_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "analytics_database": "ok",
        "redis": "ok",
    }


@pytest.mark.services
@pytest.mark.django_db
def test_readyz_reports_redis_down_without_revealing_where_it_lives(client, settings):
    settings.REDIS_URL = "redis://:hunter2-password@127.0.0.1:1/0"
    response = client.get("/readyz")
    body = response.content.decode()
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "failed"
    assert response.json()["checks"]["database"] == "ok"
    for leak in ("hunter2", "127.0.0.1", "Traceback", "redis://"):
        assert leak not in body


@pytest.mark.django_db
def test_readyz_reports_a_database_that_does_not_answer(client, monkeypatch):
    # Readiness checks run on their own threads, which open connections from these settings.
    broken = dict(connections.settings["analytics"])
    if broken["ENGINE"].endswith("sqlite3"):
        broken["NAME"] = "/nonexistent-dir/secret-path/analytics.sqlite3"
    else:
        broken.update(HOST="127.0.0.1", PORT="1", PASSWORD="s3cret-db-pass")
    monkeypatch.setitem(connections.settings, "analytics", broken)
    response = client.get("/readyz")
    body = response.content.decode()
    assert response.status_code == 503
    assert response.json()["checks"]["analytics_database"] == "failed"
    assert response.json()["checks"]["database"] == "ok"
    for leak in ("secret-path", "s3cret-db-pass", "Traceback", "OperationalError"):
        assert leak not in body
