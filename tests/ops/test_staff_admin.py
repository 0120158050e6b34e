"""Staff sign-in (password + TOTP, throttled, audited) and what each group may do."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.ops.conftest import totp_now

PASSWORD = "correct horse battery staple 42"


def _sign_in(client, user, *, password=PASSWORD, token=None, addr="198.51.100.7", device=True):
    data = {
        "username": user.username,
        "password": password,
        "otp_token": token if token is not None else totp_now(user.totp),
        "next": reverse("admin:index"),
    }
    if device:
        data["otp_device"] = user.totp.persistent_id
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=addr)


@pytest.mark.django_db
def test_staff_sign_in_needs_password_and_totp_code(client, make_staff):
    user = make_staff(group="support")
    response = _sign_in(client, user)
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    event = AuditEvent.objects.filter(action="staff.sign_in").get()
    assert event.actor_type == "staff"
    assert event.actor_id == str(user.pk)


@pytest.mark.django_db
def test_one_step_sign_in_uses_the_staff_members_only_device(client, make_staff):
    user = make_staff(group="support")
    assert _sign_in(client, user, device=False).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_a_password_without_a_code_yet_is_not_counted_as_a_failure(client, make_staff):
    user = make_staff(group="support")
    response = _sign_in(client, user, token="", device=False)
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302
    assert not AuditEvent.objects.filter(action="staff.sign_in_failed").exists()


@pytest.mark.django_db
def test_a_wrong_totp_code_is_refused_and_audited(client, make_staff):
    user = make_staff(group="support")
    response = _sign_in(client, user, token="000000")
    assert response.status_code == 200  # the form again, with an error
    assert client.get(reverse("admin:index")).status_code == 302
    failed = AuditEvent.objects.filter(action="staff.sign_in_failed").get()
    assert failed.detail["reason"] == "second_factor"
    assert user.username not in str(failed.detail)


@pytest.mark.django_db
def test_password_alone_without_a_verified_device_does_not_open_admin(client, make_staff):
    user = make_staff(superuser=True)
    client.force_login(user)  # first factor only
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_failed_sign_ins_are_throttled_per_username_and_ip(client, make_staff):
    user = make_staff(group="admin")
    for _ in range(5):
        response = _sign_in(client, user, password="wrong password entirely")
        assert response.status_code == 200
    assert AuditEvent.objects.filter(action="staff.sign_in_failed").count() == 5
    # Now even the right password and code are refused, with a clear message.
    response = _sign_in(client, user)
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
    # Another address is not blocked by this one's failures.
    other = client.__class__()
    assert _sign_in(other, user, addr="203.0.113.9").status_code == 302


@pytest.mark.django_db
def test_groups_exist_with_least_privilege():
    from django.contrib.auth.models import Group

    support = set(Group.objects.get(name="support").permissions.values_list("codename", flat=True))
    admin_perms = set(
        Group.objects.get(name="admin").permissions.values_list("codename", flat=True)
    )
    assert {
        "view_agency",
        "view_location",
        "view_ghluser",
        "view_auditevent",
        "resync_agency",
    } <= support
    assert not {"change_agency", "purge_agency", "add_user", "change_user"} & support
    assert not any(p.startswith(("delete_", "change_", "add_")) for p in support)
    assert support <= admin_perms
    assert {"change_agency", "purge_agency", "add_user", "change_user"} <= admin_perms
    assert not {"change_auditevent", "delete_auditevent", "delete_agency"} & admin_perms


@pytest.mark.django_db
def test_support_views_agencies_but_cannot_change_or_purge(make_staff, staff_login, personas):
    client = staff_login(make_staff(group="support"))
    agency = personas["agency_a"]
    assert client.get(reverse("admin:accounts_agency_changelist")).status_code == 200
    url = reverse("admin:accounts_agency_change", args=[agency.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"timezone": "Europe/Paris"})
    assert response.status_code == 403
    agency.refresh_from_db()
    assert agency.timezone == "America/Chicago"
    purge = reverse("admin:accounts_agency_purge", args=[agency.pk])
    assert client.get(purge).status_code == 403
    assert client.post(purge, {"confirm_company_id": agency.company_id}).status_code == 403
    agency.refresh_from_db()


@pytest.mark.django_db
def test_support_can_trigger_a_resync_and_it_is_audited(make_staff, staff_login, personas):
    client = staff_login(make_staff(group="support"))
    agency = personas["agency_a"]
    response = client.post(
        reverse("admin:accounts_agency_changelist"),
        {"action": "resync", "_selected_action": [agency.pk]},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.resync")
    assert event.agency == agency
    assert event.actor_type == "staff"
    # The sync task does not exist yet: the action says so instead of pretending.
    assert event.outcome in {"success", "unavailable"}


@pytest.mark.django_db
def test_admin_changes_agency_settings_and_the_change_is_audited(make_staff, staff_login, personas):
    client = staff_login(make_staff(group="admin"))
    agency = personas["agency_a"]
    url = reverse("admin:accounts_agency_change", args=[agency.pk])
    response = client.post(
        url,
        {
            "timezone": "Europe/Paris",
            "currency": "EUR",
            "whitelabel_domain": "",
            "needs_reauth": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agency.refresh_from_db()
    assert agency.timezone == "Europe/Paris"
    event = AuditEvent.objects.get(action="admin.change")
    assert event.agency == agency
    assert "timezone" in str(event.detail).lower()
    assert event.target == f"accounts.agency:{agency.pk}"


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_or_deleted_in_admin(make_staff, staff_login, personas):
    from accounts.audit import record

    event = record("sso.sign_in", agency=personas["agency_a"])
    client = staff_login(make_staff(superuser=True))
    assert client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])
    assert client.post(change, {"action": "tampered"}).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "sso.sign_in"


@pytest.mark.django_db
def test_admin_group_cannot_make_itself_superuser(make_staff, staff_login):
    me = make_staff(group="admin")
    client = staff_login(me)
    url = reverse("admin:auth_user_change", args=[me.pk])
    page = client.get(url)
    assert page.status_code == 200
    client.post(
        url,
        {
            "username": me.username,
            "email": me.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [g.pk for g in me.groups.all()],
        },
    )
    me.refresh_from_db()
    assert not me.is_superuser


@pytest.mark.django_db
def test_ghl_sessions_never_open_admin(client, login, personas):
    login(personas["owner_a"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_wrong_codes_count_towards_the_throttle_too(client, make_staff):
    user = make_staff(group="support")
    for _ in range(5):
        _sign_in(client, user, token="000000")
    response = _sign_in(client, user)
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.django_db
def test_group_setup_is_idempotent():
    from django.apps import apps
    from django.contrib.auth.models import Group

    from gocsm.staffroles import ensure_staff_groups

    before = {g.name: g.permissions.count() for g in Group.objects.all()}
    ensure_staff_groups(apps)
    ensure_staff_groups(apps)
    assert {g.name: g.permissions.count() for g in Group.objects.all()} == before


@pytest.mark.django_db
def test_enrolling_a_totp_device_prints_it_once_and_refuses_a_second(make_staff):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = make_staff(group="support")
    TOTPDevice.objects.filter(user=user).delete()
    out = io.StringIO()
    call_command("enroll_staff_totp", user.username, stdout=out)
    assert "otpauth://totp/" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("enroll_staff_totp", user.username, stdout=io.StringIO())
    call_command("enroll_staff_totp", user.username, "--replace", stdout=io.StringIO())
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="staff.totp_enrolled").count() == 2
