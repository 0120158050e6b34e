"""The staff audit paths tests/ops/test_staff_admin.py does not reach: sign-out, a right password
on a non-staff account, and a deletion in admin (with the agency it belonged to)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.models import AuditEvent
from sync.models import SyncRun

pytestmark = pytest.mark.django_db


def test_staff_sign_out_is_audited(make_staff, staff_login):
    user = make_staff(group="support")
    client = staff_login(user)

    client.post(reverse("admin:logout"))

    event = AuditEvent.objects.get(action="staff.sign_out")
    assert (event.actor_type, event.actor_id) == ("staff", str(user.pk))


def test_a_right_password_on_a_non_staff_account_is_a_failed_staff_sign_in(client):
    person = User.objects.create_user(username="notstaff", password="right password 42")

    response = client.post(
        reverse("admin:login"),
        {"username": "notstaff", "password": "right password 42", "otp_token": "123456"},
        REMOTE_ADDR="198.51.100.8",
    )

    assert response.status_code == 200
    failed = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert failed.detail["reason"] == "not_staff"
    assert failed.actor_id == str(person.pk)
    assert "notstaff" not in str(failed.detail)


def test_a_deletion_in_admin_is_audited_with_its_agency(make_staff, staff_login, personas):
    client = staff_login(make_staff(superuser=True))
    agency = personas["agency_a"]
    run = SyncRun.objects.for_agency(agency).create(agency=agency)

    response = client.post(reverse("admin:sync_syncrun_delete", args=[run.pk]), {"post": "yes"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.delete")
    assert event.agency == agency
    assert event.target == f"sync.syncrun:{run.pk}"
