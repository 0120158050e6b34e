"""The two staff groups and exactly what each may do (least privilege).

`support` reads what it needs to help an agency and may start a re-sync; `admin` also changes
agency settings, purges an agency on request and manages staff accounts. Nobody may change or
delete an audit event (there is no such permission to grant: the admin is read-only and the model
refuses).

Permissions of models that do not exist yet (sync.SyncRun arrives with the pulls work) are granted
by on_post_migrate as soon as their app migrates, so the groups never lag behind the code.
"""

from __future__ import annotations

# (app_label, model_name, codename) — codenames without the app prefix.
CUSTOM_PERMISSIONS = {
    ("accounts", "agency", "resync_agency"): "Can start a re-sync of an agency",
    ("accounts", "agency", "purge_agency"): "Can purge all data of an agency",
}

SUPPORT = [
    ("accounts", "agency", "view_agency"),
    ("accounts", "location", "view_location"),
    ("accounts", "ghluser", "view_ghluser"),
    ("accounts", "auditevent", "view_auditevent"),
    ("accounts", "agency", "resync_agency"),
    ("sync", "syncrun", "view_syncrun"),
]

ADMIN = [
    *SUPPORT,
    # Settings: an agency's own settings (time zone, white-label domain, re-auth flag).
    ("accounts", "agency", "change_agency"),
    ("accounts", "agency", "purge_agency"),
    ("sync", "installation", "view_installation"),
    ("billing", "billingaccount", "view_billingaccount"),
    # Staff management. Superuser status and direct permissions stay with superusers.
    ("auth", "user", "view_user"),
    ("auth", "user", "add_user"),
    ("auth", "user", "change_user"),
    ("auth", "group", "view_group"),
    ("otp_totp", "totpdevice", "view_totpdevice"),
    ("otp_totp", "totpdevice", "change_totpdevice"),
    ("otp_totp", "totpdevice", "delete_totpdevice"),
    ("admin", "logentry", "view_logentry"),
]

GROUPS = {"support": SUPPORT, "admin": ADMIN}


def _permission(apps, app_label, model_name, codename):
    """The Permission row, created if its model exists and the row does not yet."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None  # model not there yet; on_post_migrate grants it later
    ct, _ = ContentType.objects.get_or_create(app_label=app_label, model=model_name)
    custom = CUSTOM_PERMISSIONS.get((app_label, model_name, codename))
    verb = codename.split("_", 1)[0]
    name = custom or f"Can {verb} {model._meta.verbose_name}"
    perm, _ = Permission.objects.get_or_create(
        content_type=ct, codename=codename, defaults={"name": name[:255]}
    )
    return perm


def ensure_staff_groups(apps) -> None:
    """Create the groups and grant their permissions. Additive and idempotent."""
    Group = apps.get_model("auth", "Group")
    for group_name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = [p for p in (_permission(apps, *g) for g in grants) if p is not None]
        group.permissions.add(*perms)


def on_post_migrate(sender, app_config=None, apps=None, using="default", **kwargs):
    from django.apps import apps as global_apps

    # post_migrate fires once per app; once (for accounts) is enough and every model's state
    # is present by then.
    if using != "default" or getattr(app_config, "label", None) != "accounts":
        return
    state = apps or global_apps
    try:
        state.get_model("auth", "Group")
        state.get_model("contenttypes", "ContentType")
    except LookupError:
        return  # migrated back to before auth or contenttypes exist (e.g. `migrate auth zero`)
    ensure_staff_groups(state)
