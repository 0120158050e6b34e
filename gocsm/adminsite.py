"""The GoCSM admin site: Django accounts plus a TOTP second factor, throttled, audited, and
hardened so no registered model can render a secret.

Installed as the project's `admin.site` through gocsm.apps.GoCSMAdminConfig (default_site), so
`admin.site.urls` and `@admin.register` keep working everywhere.
"""

from __future__ import annotations

import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.core.exceptions import ValidationError
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from gocsm.adminsafe import SafeAdminMixin
from gocsm.signals import admin_object_changed
from gocsm.staffauth import is_throttled, note_failure

THROTTLED_MESSAGE = (
    "Too many failed sign-ins for this account from your address. "
    "Wait 15 minutes and try again, or ask another admin to check your account."
)


# Second-factor errors that are a wrong guess. The others ("enter your code", "pick a device")
# are steps of an ordinary sign-in and must not count towards the throttle.
_GUESS_CODES = frozenset({"invalid_token", None})


class ThrottledOTPAuthenticationForm(OTPAdminAuthenticationForm):
    """Username, password and TOTP code in one step; refused outright after too many failures."""

    def clean(self):
        username = self.data.get("username", "")
        if is_throttled(username, self.request):
            raise ValidationError(THROTTLED_MESSAGE, code="throttled")
        try:
            return super().clean()
        except ValidationError as exc:
            # A wrong password was already counted by the user_login_failed signal; here the
            # password was right and the second factor (or staff status) was not.
            if self.user_cache is not None:
                if not self.user_cache.is_staff:
                    note_failure(username, self.request, reason="not_staff")
                elif any(getattr(e, "code", None) in _GUESS_CODES for e in exc.error_list):
                    note_failure(username, self.request, reason="second_factor")
            raise

    def _chosen_device(self, user):
        # Staff have one authenticator each: use it without asking them to pick it first.
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device


def _changed_fields(message) -> list[str]:
    if isinstance(message, str):
        try:
            message = json.loads(message) if message else []
        except ValueError:
            return []
    fields: list[str] = []
    for part in message or []:
        if isinstance(part, dict):
            for value in part.values():
                if isinstance(value, dict):
                    fields.extend(str(f) for f in value.get("fields", []))
    return fields


def audit_admin_change(request, flag: int, obj, message=None) -> None:
    """Announce the change; the audit trail (accounts.staffaudit) writes the event."""
    admin_object_changed.send(
        sender=type(obj),
        request=request,
        action={ADDITION: "add", CHANGE: "change", DELETION: "delete"}[flag],
        obj=obj,
        changed_fields=_changed_fields(message) if flag == CHANGE else None,
    )


class AuditedAdminMixin:
    """Every change made through the admin leaves an audit event next to Django's LogEntry."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        audit_admin_change(request, ADDITION, obj, message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        audit_admin_change(request, CHANGE, obj, message)
        return entry

    def log_deletions(self, request, queryset):
        objects = list(queryset)
        entries = super().log_deletions(request, objects)
        for obj in objects:
            audit_admin_change(request, DELETION, obj)
        return entries


def harden(admin_class):
    """Mix the secret filter and the audit trail into any ModelAdmin class."""
    bases = []
    if not issubclass(admin_class, AuditedAdminMixin):
        bases.append(AuditedAdminMixin)
    if not issubclass(admin_class, SafeAdminMixin):
        bases.append(SafeAdminMixin)
    if not bases:
        return admin_class
    return type(admin_class.__name__, (*bases, admin_class), {"__module__": admin_class.__module__})


class GoCSMAdminSite(OTPAdminSite):
    """Staff only, second factor verified (OTPAdminSite.has_permission), every model hardened."""

    site_header = "GoCSM staff"
    site_title = "GoCSM staff"
    index_title = "Operations"
    login_form = ThrottledOTPAuthenticationForm
    enable_nav_sidebar = False

    def __init__(self, name: str = "admin"):
        # Named "admin" so reverse("admin:...") and the auth guard's namespace check hold.
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        from django.contrib.admin import ModelAdmin

        super().register(model_or_iterable, harden(admin_class or ModelAdmin), **options)
