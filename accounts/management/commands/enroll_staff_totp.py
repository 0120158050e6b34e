"""manage.py enroll_staff_totp <username>: give a staff member a TOTP device and show its key once.

Run it on a trusted terminal with the staff member present; they scan the otpauth:// URI (or type
the key) into their authenticator app and then sign in to /admin/ with the 6-digit code. The key is
never shown in admin. --replace removes the person's existing devices first (lost phone).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import record
from accounts.models import AuditEvent


class Command(BaseCommand):
    help = "Create a TOTP device for a staff account and print its otpauth:// URI once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--replace", action="store_true", help="delete existing devices first")

    def handle(self, username, replace=False, **options):
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is None or not user.is_staff:
            raise CommandError("No staff account with that username. Nothing changed.")
        existing = TOTPDevice.objects.filter(user=user)
        if existing.exists() and not replace:
            raise CommandError("This person already has a device; use --replace after a loss.")
        existing.delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        record(
            "staff.totp_enrolled",
            actor_type=AuditEvent.ACTOR_SYSTEM,
            target=f"auth.user:{user.pk}",
            detail={"replaced": replace},
        )
        self.stdout.write("Scan this in the authenticator app (shown once, do not store it):")
        self.stdout.write(device.config_url)
