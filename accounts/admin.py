"""Staff admin for agencies, sub-accounts, GHL users, audit events and staff accounts.

Every class here is hardened by the site (gocsm.adminsite.harden): sensitive fields never render
and every change is audited. Data that comes from GHL is read-only here (a pull would overwrite an
edit); staff change only an agency's own settings. Deletion of agency data happens only through
the purge, behind a typed confirmation.
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import record_staff
from accounts.models import Agency, AuditEvent, CSMAssignment, GHLUser, Location, LocationTag, Tag
from accounts.purge import purge_agency
from gocsm.adminsafe import ReadOnlyAdminMixin, SafeAdminMixin, SafeModelAdmin


def start_resync(agency: Agency) -> bool:
    """Queue a pull of `agency` through the sync app's task; False if that task does not exist."""
    name = settings.OPS_RESYNC_TASK
    module = name.rsplit(".", 1)[0]
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    from gocsm.celery import app

    task = app.tasks.get(name)
    if task is None:
        return False
    task.delay(agency.pk)
    return True


@admin.register(Agency)
class AgencyAdmin(SafeModelAdmin):
    list_display = [
        "name",
        "company_id",
        "is_installed",
        "needs_reauth",
        "installed_at",
        "uninstalled_at",
    ]
    list_filter = ["is_installed", "needs_reauth"]
    search_fields = ["name", "company_id"]
    readonly_fields = [
        "company_id",
        "name",
        "is_installed",
        "installed_at",
        "uninstalled_at",
        "created_at",
        "updated_at",
    ]
    fields = [
        "name",
        "company_id",
        "timezone",
        "currency",
        "whitelabel_domain",
        "needs_reauth",
        "is_installed",
        "installed_at",
        "uninstalled_at",
        "created_at",
        "updated_at",
    ]
    actions = ["resync", "purge"]

    def has_add_permission(self, request):
        return False  # agencies come from installs

    def has_delete_permission(self, request, obj=None):
        return False  # the purge (typed confirmation) is the only way to delete an agency

    def has_resync_permission(self, request):
        return request.user.has_perm("accounts.resync_agency")

    def has_purge_permission(self, request):
        return request.user.has_perm("accounts.purge_agency")

    @admin.action(description="Re-sync now", permissions=["resync"])
    def resync(self, request, queryset):
        started = 0
        for agency in queryset:
            ok = start_resync(agency)
            started += ok
            record_staff(
                "admin.resync",
                request,
                agency=agency,
                target=f"accounts.agency:{agency.pk}",
                outcome="success" if ok else "unavailable",
            )
        if started:
            self.message_user(request, f"Re-sync started for {started} agency(ies).")
        if started < len(queryset):
            self.message_user(
                request,
                "Re-sync is not available: the sync task is not installed.",
                level=messages.WARNING,
            )

    @admin.action(description="Purge all data of this agency…", permissions=["purge"])
    def purge(self, request, queryset):
        agencies = list(queryset[:2])
        if len(agencies) != 1:
            self.message_user(request, "Select exactly one agency to purge.", level=messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:accounts_agency_purge", args=[agencies[0].pk]))

    def get_urls(self):
        return [
            path(
                "<int:object_id>/purge/",
                self.admin_site.admin_view(self.purge_view),
                name="accounts_agency_purge",
            ),
            *super().get_urls(),
        ]

    def purge_view(self, request, object_id):
        if not self.has_purge_permission(request):
            raise PermissionDenied
        agency = Agency.objects.filter(pk=object_id).first()
        if agency is None:
            raise Http404
        error = ""
        if request.method == "POST":
            typed = request.POST.get("confirm_company_id", "").strip()
            if typed == agency.company_id:
                report = purge_agency(
                    agency,
                    actor_type=AuditEvent.ACTOR_STAFF,
                    actor_id=str(request.user.pk),
                    request=request,
                )
                self.message_user(
                    request,
                    f"Purged {report.total_rows} rows. Audit reference {report.company_id_hash}.",
                )
                return HttpResponseRedirect(reverse("admin:accounts_agency_changelist"))
            error = "The company id you typed does not match. Nothing was deleted."
        plan = purge_agency(agency, dry_run=True)
        context = {
            **self.admin_site.each_context(request),
            "title": "Purge all data of an agency",
            "opts": self.model._meta,
            "agency": agency,
            "plan": plan,
            "error": error,
        }
        return TemplateResponse(
            request,
            "admin/accounts/agency/purge_confirm.html",
            context,
            status=400 if error else 200,
        )


class ReadOnlyTenantAdmin(ReadOnlyAdminMixin, SafeModelAdmin):
    """GHL is the source of truth for these rows; staff look, pulls write."""

    list_select_related = ["agency"]


@admin.register(Location)
class LocationAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "name",
        "ghl_id",
        "agency",
        "status",
        "subscription_status",
        "saas_plan_id",
        "last_synced_at",
    ]
    list_filter = ["status", "is_installed"]
    search_fields = ["name", "ghl_id", "agency__company_id", "agency__name"]


@admin.register(Tag)
class TagAdmin(ReadOnlyTenantAdmin):
    """Owners and admins manage tags in the app (accounts.tagging, audited); staff look."""

    list_display = ["name", "builtin", "agency", "created_at"]
    search_fields = ["name", "agency__company_id"]


@admin.register(LocationTag)
class LocationTagAdmin(ReadOnlyTenantAdmin):
    list_display = ["location", "tag", "agency", "added_at"]
    list_select_related = ["agency", "location", "tag"]


@admin.register(CSMAssignment)
class CSMAssignmentAdmin(ReadOnlyTenantAdmin):
    list_display = ["location", "csm", "agency", "assigned_at"]
    list_select_related = ["agency", "location", "csm"]


@admin.register(GHLUser)
class GHLUserAdmin(ReadOnlyTenantAdmin):
    list_display = ["name", "ghl_id", "agency", "role", "deleted", "last_sign_in_at"]
    list_filter = ["role", "deleted"]
    search_fields = ["name", "ghl_id", "agency__company_id"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, SafeModelAdmin):
    list_display = ["at", "action", "outcome", "actor_type", "actor_id", "agency", "target", "ip"]
    list_filter = ["outcome", "actor_type"]
    search_fields = ["action", "target", "request_id", "agency__company_id"]
    date_hierarchy = "at"
    list_select_related = ["agency"]


# --- staff accounts -------------------------------------------------------------------------
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(SafeAdminMixin, UserAdmin):
    """Staff accounts. New-password inputs never render a value, so they may appear on the add
    form; the stored hash never does. Only superusers grant superuser status or loose
    permissions: staff get rights through the support/admin groups."""

    allowed_form_inputs = frozenset({"password1", "password2", "usable_password"})
    list_display = ["username", "email", "is_active", "is_staff", "is_superuser", "last_login"]
    fieldsets = [
        (None, {"fields": ["username", "sign_in_credentials"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        names = [*super().get_readonly_fields(request, obj), "sign_in_credentials"]
        if not request.user.is_superuser:
            names += ["is_superuser", "user_permissions"]
        return names

    def has_delete_permission(self, request, obj=None):
        # Accounts are deactivated, not deleted, so their audit events keep an owner.
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        # The admin group manages staff, not the break-glass superuser accounts.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="Sign-in")
    def sign_in_credentials(self, obj):
        if obj is None or obj.pk is None:
            return ""
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('<a href="{}">Set a new password</a>', url)


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(SafeModelAdmin):
    """Second-factor devices. The key is never shown here: a staff member enrols with
    `manage.py enroll_staff_totp <username>` on a trusted terminal."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]
    readonly_fields = ["user", "created_at", "last_used_at", "throttling_failure_count"]
    search_fields = ["user__username"]

    def has_add_permission(self, request):
        return False
