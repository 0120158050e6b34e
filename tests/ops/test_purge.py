"""Purging one of two agencies removes every row and key of it and nothing of the other."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import router
from django.urls import reverse

from accounts.audit import fingerprint, record
from accounts.models import Agency, AuditEvent, GHLUser, Location
from accounts.purge import _rows_of, agency_models
from gocsm.agencykeys import agency_cache_key, agency_redis_key
from tests.ops.factory import Planted, build

MARK_A = "PurgeMeAlpha"
MARK_B = "KeepMeBravo"


def _session_for(user):
    from django.contrib.sessions.backends.cache import SessionStore as _Base  # noqa: F401

    from accounts.identity import SESSION_AGENCY, SESSION_ROLE, SESSION_USER
    from accounts.sessions import SessionStore

    store = SessionStore()
    store[SESSION_USER] = user.pk
    store[SESSION_AGENCY] = user.agency_id
    store[SESSION_ROLE] = user.role
    store.save()
    return store.session_key


@pytest.fixture
def two_agencies(make_agency, make_user):
    """Agency A and B with rows in every table that holds agency data, plus Redis state."""
    a = make_agency(company_id=f"{MARK_A}Company01", name=f"{MARK_A} Agency")
    b = make_agency(company_id=f"{MARK_B}Company02", name=f"{MARK_B} Agency")
    planted = Planted()
    users = {}
    for agency, mark in ((a, MARK_A), (b, MARK_B)):
        users[agency.pk] = make_user(agency, name=f"{mark} Owner", email=f"owner@{mark}.example")
        Location.objects.create(agency=agency, ghl_id=f"{mark}Loc1", name=f"{mark} Dental")
        record(
            "sso.sign_in",
            agency=agency,
            actor_type="ghl_user",
            actor_id=users[agency.pk].ghl_id,
            target=f"{mark}-target",
        )
        for model, _columns in agency_models():
            build(model, agency, planted)
        cache.set(agency_cache_key(agency.pk, "dashboard"), f"{mark}-cached")
    # Admin history about A's location names A's data in object_repr.
    loc_a = Location.objects.for_agency(a).get(ghl_id=f"{MARK_A}Loc1")
    LogEntry.objects.log_actions(
        user_id=_staff().pk, queryset=[loc_a], action_flag=CHANGE, change_message="[]"
    )
    sessions = {a.pk: _session_for(users[a.pk]), b.pk: _session_for(users[b.pk])}
    return a, b, sessions


def _staff():
    from django.contrib.auth.models import User

    return User.objects.get_or_create(username="ops-staff", defaults={"is_staff": True})[0]


def _count(model, columns, agency_id):
    return _rows_of(model, columns, agency_id, router.db_for_write(model)).count()


def _all_rows_text() -> str:
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        db = router.db_for_read(model)
        chunks.append(serializers.serialize("json", model._base_manager.using(db).all()))
    return "\n".join(chunks)


@pytest.mark.django_db
def test_purge_removes_every_row_of_one_agency_and_nothing_of_the_other(two_agencies):
    a, b, sessions = two_agencies
    tables = agency_models()
    labels = {m._meta.label for m, _ in tables}
    assert {"accounts.Location", "accounts.GHLUser", "accounts.AuditEvent"} <= labels
    before_b = {m._meta.label: _count(m, c, b.pk) for m, c in tables}
    assert all(_count(m, c, a.pk) > 0 for m, c in tables), "every table must hold A's rows"
    assert MARK_A in _all_rows_text()

    out = io.StringIO()
    call_command("purge_agency", a.company_id, stdout=out)

    assert not Agency.objects.filter(pk=a.pk).exists()
    for model, columns in tables:
        assert _count(model, columns, a.pk) == 0, model._meta.label
        assert _count(model, columns, b.pk) == before_b[model._meta.label], model._meta.label
    everything = _all_rows_text()
    assert MARK_A not in everything
    assert MARK_B in everything
    assert Agency.objects.filter(pk=b.pk).exists()
    assert Location.objects.for_agency(b).count() >= 1
    # Redis: A's session and cache keys are gone, B's remain.
    from accounts.sessions import SessionStore

    assert not SessionStore().exists(sessions[a.pk])
    assert SessionStore().exists(sessions[b.pk])
    assert cache.get(agency_cache_key(a.pk, "dashboard")) is None
    assert cache.get(agency_cache_key(b.pk, "dashboard")) == f"{MARK_B}-cached"
    # The purge leaves one audit event without personal data.
    event = AuditEvent.objects.get(action="agency.purged")
    assert event.agency is None
    assert event.detail["company_id_hash"] == fingerprint(a.company_id)
    assert event.detail["tables"]["default:accounts.Location"] >= 1
    assert a.company_id not in str(event.detail) + event.target
    assert "Purged" in out.getvalue()


@pytest.mark.django_db
def test_dry_run_prints_counts_per_table_and_changes_nothing(two_agencies):
    a, _b, sessions = two_agencies
    tables = agency_models()
    before = {m._meta.label: _count(m, c, a.pk) for m, c in tables}
    events_before = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("purge_agency", a.company_id, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "DRY RUN" in text
    assert "default:accounts.Location" in text
    assert "default:accounts.Agency" in text
    assert "sessions" in text
    assert Agency.objects.filter(pk=a.pk).exists()
    assert {m._meta.label: _count(m, c, a.pk) for m, c in tables} == before
    assert AuditEvent.objects.count() == events_before
    from accounts.sessions import SessionStore

    assert SessionStore().exists(sessions[a.pk])


@pytest.mark.django_db
def test_an_unknown_company_id_is_a_clear_error_that_changes_nothing(two_agencies):
    with pytest.raises(CommandError, match="No agency"):
        call_command("purge_agency", "NoSuchCompany")
    assert Agency.objects.count() == 2


@pytest.mark.django_db
def test_admin_purge_needs_the_typed_company_id(two_agencies, make_staff, staff_login):
    a, b, _ = two_agencies
    client = staff_login(make_staff(group="admin"))
    url = reverse("admin:accounts_agency_purge", args=[a.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "default:accounts.Location" in page.content.decode()
    wrong = client.post(url, {"confirm_company_id": b.company_id})
    assert wrong.status_code == 400
    assert Agency.objects.filter(pk=a.pk).exists()
    done = client.post(url, {"confirm_company_id": a.company_id})
    assert done.status_code == 302
    assert not Agency.objects.filter(pk=a.pk).exists()
    assert Agency.objects.filter(pk=b.pk).exists()
    event = AuditEvent.objects.get(action="agency.purged")
    assert event.actor_type == "staff"


@pytest.mark.django_db
def test_the_purge_action_sends_one_agency_to_the_confirmation(
    two_agencies, make_staff, staff_login
):
    a, b, _ = two_agencies
    client = staff_login(make_staff(group="admin"))
    changelist = reverse("admin:accounts_agency_changelist")
    response = client.post(changelist, {"action": "purge", "_selected_action": [a.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_agency_purge", args=[a.pk])
    both = client.post(changelist, {"action": "purge", "_selected_action": [a.pk, b.pk]})
    assert both.status_code == 302
    assert Agency.objects.count() == 2


@pytest.mark.services
@pytest.mark.django_db
def test_purge_deletes_raw_redis_keys_under_the_agency_prefix(two_agencies):
    from django_redis import get_redis_connection

    a, b, _ = two_agencies
    conn = get_redis_connection("default")
    conn.set(agency_redis_key(a.pk, "lock", "pull"), "1")
    conn.set(agency_redis_key(b.pk, "lock", "pull"), "1")
    try:
        call_command("purge_agency", a.company_id, stdout=io.StringIO())
        assert conn.get(agency_redis_key(a.pk, "lock", "pull")) is None
        assert conn.get(agency_redis_key(b.pk, "lock", "pull")) == b"1"
    finally:
        conn.delete(agency_redis_key(b.pk, "lock", "pull"))


def test_purged_agency_reference_is_stable_and_not_the_id():
    assert fingerprint("abc") == fingerprint("abc")
    assert "abc" not in fingerprint("abc")
    assert settings.AUDIT_RETENTION_DAYS >= 1


@pytest.mark.django_db
def test_every_agency_table_is_discovered_on_its_own_database():
    found = {m._meta.label: router.db_for_write(m) for m, _ in agency_models()}
    assert found["accounts.Location"] == "default"
    assert "accounts.Agency" not in found
    for label, db in found.items():
        app_label = label.split(".")[0]
        assert db == ("analytics" if app_label == "analytics" else "default")
    assert GHLUser._meta.label in found
    _ = ContentType  # admin history rows are covered by the purge test above
