"""Audit events: append-only, pruned after retention, shown to an agency's owners and admins."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.audit import prune_expired_audit_events, record
from accounts.models import AppendOnlyViolation, AuditEvent


@pytest.mark.django_db
def test_an_audit_event_cannot_be_updated_through_the_orm(personas):
    event = record("sso.sign_in", agency=personas["agency_a"])
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.all().update(action="x")
    event.outcome = "failure"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.bulk_update([event], ["outcome"])
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.update_or_create(pk=event.pk, defaults={"outcome": "x"})
    assert AuditEvent.objects.get(pk=event.pk).outcome == "success"


@pytest.mark.django_db
def test_an_audit_event_cannot_be_deleted_through_the_orm(personas):
    event = record("sso.sign_in", agency=personas["agency_a"])
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_record_redacts_secrets_in_detail_and_fills_request_fields(rf, personas):
    request = rf.get("/", REMOTE_ADDR="198.51.100.20")
    event = record(
        "sso.sign_in_failed",
        request=request,
        outcome="failure",
        detail={"access_token": "eyJhbGciOiJIUzI1NiJ9.secretpart.sig", "reason": "decrypt"},
    )
    assert event.ip == "198.51.100.20"
    assert "secretpart" not in str(event.detail)
    assert event.detail["reason"] == "decrypt"


@pytest.mark.django_db
def test_prune_removes_only_events_older_than_retention(settings, personas):
    settings.AUDIT_RETENTION_DAYS = 365
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=400), tick=False):
        old = record("sso.sign_in", agency=personas["agency_a"])
    with time_machine.travel(now - timedelta(days=300), tick=False):
        recent = record("sso.sign_in", agency=personas["agency_a"])
    assert prune_expired_audit_events(now=now) == 1
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()


@pytest.mark.django_db
def test_the_beat_task_prunes_and_is_scheduled(settings, personas):
    from accounts.tasks import prune_audit_events

    settings.AUDIT_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=False):
        record("sso.sign_in", agency=personas["agency_a"])
    record("sso.sign_in", agency=personas["agency_a"])
    assert prune_audit_events.apply().get() == 1
    assert AuditEvent.objects.count() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["ops-prune-audit-events"]
    assert entry["task"] == prune_audit_events.name
    assert "accounts.tasks" in settings.CELERY_IMPORTS


# --- the Security page --------------------------------------------------------------------------
@pytest.mark.django_db
def test_owner_sees_own_agency_events_of_the_last_90_days(client, login, personas):
    a, b = personas["agency_a"], personas["agency_b"]
    with time_machine.travel(timezone.now() - timedelta(days=100), tick=False):
        record("sso.sign_in", agency=a, target="too-old-to-show")
    record(
        "sso.sign_in",
        agency=a,
        actor_type="ghl_user",
        actor_id=personas["owner_a"].ghl_id,
        target="visible-a",
    )
    record("admin.change", agency=a, actor_type="staff", actor_id="1")
    record("sso.sign_in", agency=b, actor_type="ghl_user", actor_id=personas["owner_b"].ghl_id)
    login(personas["owner_a"])
    response = client.get(reverse("accounts:security"))
    assert response.status_code == 200
    html = response.content.decode()
    assert personas["owner_a"].name in html
    assert "GoCSM staff" in html
    assert personas["owner_b"].name not in html
    assert len(response.context["rows"]) == 2


@pytest.mark.django_db
def test_agency_b_sees_only_its_own_events(client, login, personas):
    record("sso.sign_in", agency=personas["agency_a"], actor_type="ghl_user", actor_id="a-only")
    record("sso.sign_in", agency=personas["agency_b"], actor_type="ghl_user", actor_id="b-only")
    login(personas["owner_b"])
    response = client.get(reverse("accounts:security"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "b-only" in html
    assert "a-only" not in html


@pytest.mark.django_db
def test_agency_users_who_are_not_owner_or_admin_get_403(client, login, personas, make_user):
    login(personas["user_a"])
    assert client.get(reverse("accounts:security")).status_code == 403
    location_user = make_user(personas["agency_a"], role="location")
    login(location_user)
    assert client.get(reverse("accounts:security")).status_code == 403


@pytest.mark.django_db
def test_an_agency_admin_may_see_the_page(client, login, personas, make_user):
    login(make_user(personas["agency_a"], role="admin"))
    assert client.get(reverse("accounts:security")).status_code == 200


def test_anonymous_visitors_get_401(client):
    assert client.get(reverse("accounts:security")).status_code == 401


def test_every_event_the_code_records_has_a_plain_name_on_the_security_page():
    # The page named events by codes that nothing records ("agency.needs_reauth") while the real
    # ones ("reauth_needed", "sso.failed", "uninstall") showed as raw codes.
    import re
    from pathlib import Path

    from accounts.views_security import ACTION_LABELS

    root = Path(__file__).resolve().parents[2]
    recorded = set()
    for app in ("gocsm", "accounts", "sync", "analytics", "billing"):
        for path in (root / app).rglob("*.py"):
            if "fakeghl" in path.parts or "migrations" in path.parts:
                continue
            text = path.read_text()
            recorded |= set(
                re.findall(r"\brecord(?:_staff)?\(\s*\"([a-z_]+(?:\.[a-z_]+)?)\"", text)
            )
            recorded |= {f"admin.{a}" for a in ("add", "change", "delete")}
    assert {"reauth_needed", "sso.sign_in", "uninstall"} <= recorded
    # Staff's own sign-ins carry no agency, and a purged agency has nobody left to read it.
    never_on_the_page = {e for e in recorded if e.startswith("staff.")} | {"agency.purged"}
    assert recorded - never_on_the_page - set(ACTION_LABELS) == set()
    assert set(ACTION_LABELS) - recorded == set()


@pytest.mark.django_db
def test_a_lost_ghl_connection_reads_plainly_on_the_security_page(client, login, personas):
    record("reauth_needed", agency=personas["agency_a"], target=personas["agency_a"].company_id)
    login(personas["owner_a"])
    html = client.get(reverse("accounts:security")).content.decode()
    assert "GHL re-authorisation needed" in html
