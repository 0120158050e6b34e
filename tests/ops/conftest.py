from __future__ import annotations

import pytest
from django_otp import DEVICE_ID_SESSION_KEY


@pytest.fixture(autouse=True)
def _ops_urls(request, settings):
    if request.node.get_closest_marker("urls") is None:
        settings.ROOT_URLCONF = "tests.ops.urls"


@pytest.fixture
def make_staff(db):
    """A staff account, optionally in the `support` or `admin` group, with a TOTP device."""
    from django.contrib.auth.models import Group, User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    counter = {"n": 0}

    def make(group=None, superuser=False, password="correct horse battery staple 42"):
        counter["n"] += 1
        user = User.objects.create_user(
            username=f"staff{counter['n']}",
            email=f"staff{counter['n']}@gocsm.example",
            password=password,
            is_staff=True,
            is_superuser=superuser,
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        user.totp = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        return user

    return make


@pytest.fixture
def staff_login(client):
    """Sign a staff member in with the second factor verified, as the OTP login form does."""

    def do_login(user, test_client=None):
        c = test_client or client
        c.force_login(user)
        session = c.session
        session[DEVICE_ID_SESSION_KEY] = user.totp.persistent_id
        session.save()
        return c

    return do_login


def totp_now(device) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"
