"""/metrics: bearer-protected Prometheus text with request, pipeline and store metrics."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Location

TOKEN = "metrics-test-token-0123456789abcdef"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_BEARER_TOKEN = TOKEN


def _scrape(client):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_metrics_is_404_when_no_token_is_configured(client, settings):
    settings.METRICS_BEARER_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_on):
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    assert TOKEN not in missing.content.decode()


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_and_status(client, metrics_on):
    client.get("/healthz")
    client.get("/no/such/page/12345")
    body = _scrape(client).content.decode()
    assert 'gocsm_http_requests_total{method="GET",route="healthz",status="200"}' in body
    assert 'route="unmatched",status="404"' in body
    assert "/no/such/page" not in body
    assert (
        'gocsm_http_request_duration_seconds_bucket{le="0.1",method="GET",route="healthz"}' in body
    )


@pytest.mark.django_db
def test_pipeline_counters_are_exposed_for_other_apps_to_increment(client, metrics_on):
    from gocsm import metrics

    metrics.PULLS_STARTED.labels(kind="agency").inc()
    metrics.PULLS_FAILED.labels(kind="location").inc()
    metrics.GHL_RATE_LIMITED.inc()
    metrics.GHL_RETRIES.labels(reason="rate_limited").inc()
    metrics.TOKEN_REFRESH_FAILURES.labels(reason="invalid_grant").inc()
    metrics.WEBHOOK_REJECTIONS.labels(source="ghl", reason="signature").inc()
    metrics.SSO_FAILURES.labels(reason="decrypt").inc()
    body = _scrape(client).content.decode()
    for name in (
        'gocsm_pulls_started_total{kind="agency"}',
        'gocsm_pulls_failed_total{kind="location"}',
        "gocsm_pulls_succeeded_total",
        "gocsm_ghl_rate_limited_total",
        'gocsm_ghl_retries_total{reason="rate_limited"}',
        'gocsm_token_refresh_failures_total{reason="invalid_grant"}',
        'gocsm_webhook_rejections_total{reason="signature",source="ghl"}',
        'gocsm_sso_failures_total{reason="decrypt"}',
    ):
        assert name in body, name


@pytest.mark.django_db
def test_data_age_per_agency_is_computed_at_scrape_time(client, metrics_on, personas):
    a = personas["agency_a"]
    Location.objects.create(
        agency=a, ghl_id="LocAge1", last_synced_at=timezone.now() - timedelta(hours=2)
    )
    body = _scrape(client).content.decode()
    line = next(
        ln
        for ln in body.splitlines()
        if ln.startswith(f'gocsm_agency_data_age_seconds{{agency="{a.company_id}"}}')
    )
    age = float(line.split()[-1])
    assert 7100 < age < 7300
    # Agency B has no data at all yet.
    assert "gocsm_agencies_without_data 1.0" in body
    assert "gocsm_agencies_needing_reauth 0.0" in body


@pytest.mark.django_db
def test_a_broken_freshness_source_does_not_break_the_scrape(client, metrics_on, personas):
    from gocsm import metrics

    def missing_table():
        raise LookupError("sync.SyncRun is not installed yet")

    metrics.register_freshness_source(missing_table)
    try:
        response = _scrape(client)
        assert response.status_code == 200
        assert "gocsm_agencies_without_data" in response.content.decode()
    finally:
        metrics._freshness_sources.remove(missing_table)


@pytest.mark.services
@pytest.mark.django_db
def test_celery_queue_length_is_read_from_the_broker(client, metrics_on, settings):
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = "gocsm-test-queue"
    settings.OPS_CELERY_QUEUES = [queue]
    broker.delete(queue)
    broker.rpush(queue, "a", "b", "c")
    try:
        body = _scrape(client).content.decode()
        assert f'gocsm_celery_queue_length{{queue="{queue}"}} 3.0' in body
    finally:
        broker.delete(queue)


def test_metrics_from_several_worker_processes_are_merged(tmp_path):
    """Multiprocess mode: two processes increment, one scrape sees the sum."""
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
        from prometheus_client import Counter
        c = Counter("gocsm_pulls_started", "x", ["kind"])
        c.labels(kind="agency").inc(int(sys.argv[2]))
        """
    )
    for n in ("2", "3"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path), n], check=True)
    reader = textwrap.dedent(
        """
        import os, sys
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        r = CollectorRegistry(); multiprocess.MultiProcessCollector(r)
        print(generate_latest(r).decode())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", reader, str(tmp_path)], check=True, capture_output=True, text=True
    ).stdout
    assert 'gocsm_pulls_started_total{kind="agency"} 5.0' in out


def test_metrics_is_on_the_reviewed_public_list():
    from django.urls import resolve

    from gocsm.authguard import is_public
    from tests.ops.public_routes import PUBLIC_ROUTES

    assert "metrics" in PUBLIC_ROUTES
    assert is_public(resolve("/metrics").func)
