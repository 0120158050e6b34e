"""The tenant (Agency), its sub-accounts (Location), its GHL users, and the audit trail."""

from __future__ import annotations

from django.db import models
from django.utils import timezone as dj_tz

from accounts.tenancy import TenantModel


def save_without_epoch(instance, save, kwargs):
    """Save `instance` without writing its session_epoch back.

    The epoch only moves forward, through QuerySet.update(session_epoch=F(...) + 1)
    (accounts.revocation). An instance loaded before such an update still holds the old value;
    an ordinary save must not write it back and revive the sessions the update ended.
    """
    adding, forced = instance._state.adding, kwargs.get("force_insert")
    if not adding and not forced and kwargs.get("update_fields") is None:
        kwargs["update_fields"] = [
            f.name
            for f in instance._meta.concrete_fields
            if not f.primary_key and f.name != "session_epoch"
        ]
    return save(**kwargs)


class AgencyQuerySet(models.QuerySet):
    def installed(self):
        return self.filter(is_installed=True)


class Agency(models.Model):
    """A GHL agency (company) that installed GoCSM. The tenant every other row belongs to."""

    company_id = models.CharField("GHL company id", max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=8, blank=True)
    # White-label app domain (host only, e.g. app.brightpath.example): allowed to frame us and to
    # send the SSO message.
    whitelabel_domain = models.CharField(max_length=253, blank=True)
    is_installed = models.BooleanField(default=False)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    needs_reauth = models.BooleanField(default=False)
    # Raised when every session of the agency must end (uninstall): a session carries the value
    # it started with and is refused once they differ, so a reinstall revives none of them. The
    # database default lets code that predates the column go on inserting during a deploy.
    session_epoch = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.company_id

    def save(self, **kwargs):
        return save_without_epoch(self, super().save, kwargs)


class Location(TenantModel):
    """A GHL sub-account. Metadata only: no contact, lead or message data."""

    ghl_id = models.CharField("GHL location id", max_length=64)
    name = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=120, blank=True)
    state = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=8, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    # active | uninstalled (GoCSM removed from this sub-account) | deleted (gone from GHL).
    # Changes go through accounts.lifecycle.set_status, which keeps their dated history.
    STATUS_ACTIVE, STATUS_UNINSTALLED, STATUS_DELETED = "active", "uninstalled", "deleted"
    status = models.CharField(max_length=16, default=STATUS_ACTIVE)
    is_installed = models.BooleanField(default=True)
    saas_plan_id = models.CharField(max_length=64, blank=True)
    saas_mode = models.CharField(max_length=32, blank=True)
    subscription_status = models.CharField(max_length=32, blank=True)
    first_seen_at = models.DateTimeField(default=dj_tz.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "ghl_id"], name="location_unique_per_agency"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.ghl_id


class LocationStatusChange(TenantModel):
    """When a sub-account's connection status changed: the dated history behind each day's
    lifecycle ("not connected" while uninstalled or deleted). Written by accounts.lifecycle."""

    location_ghl_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=dj_tz.now)
    status = models.CharField(max_length=16)

    class Meta:
        indexes = [
            models.Index(fields=["agency", "location_ghl_id", "at"], name="locstatus_agency_loc_at")
        ]

    def __str__(self) -> str:
        return f"{self.location_ghl_id} {self.status} {self.at:%Y-%m-%d}"


class SaasPlan(TenantModel):
    """A plan of the agency's GHL SaaS configurator, so pages show its name, not its id."""

    plan_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "plan_id"], name="saasplan_unique_per_agency")
        ]

    def __str__(self) -> str:
        return self.name or self.plan_id


class GHLUser(TenantModel):
    """A person of the agency as GHL knows them. Roles come from GHL's own user record."""

    ROLE_OWNER = "owner"
    ROLE_ADMIN = "admin"
    ROLE_USER = "user"
    ROLE_LOCATION = "location"
    ROLES = [
        (ROLE_OWNER, "Agency owner"),
        (ROLE_ADMIN, "Agency admin"),
        (ROLE_USER, "Agency user"),
        (ROLE_LOCATION, "Sub-account user"),
    ]

    ghl_id = models.CharField("GHL user id", max_length=64)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    role = models.CharField(max_length=16, choices=ROLES, default=ROLE_USER)
    # GHL's roles.type ("agency" | "account") and roles.role ("admin" | "user").
    ghl_type = models.CharField(max_length=16, blank=True)
    ghl_role = models.CharField(max_length=16, blank=True)
    is_agency_owner = models.BooleanField(default=False)
    # Sub-accounts this user is restricted to (GHL roles.locationIds); empty = no restriction for
    # agency-level users.
    location_ids = models.JSONField(default=list, blank=True)
    restrict_sub_account = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    # As Agency.session_epoch, for this person alone (GHL removed or disabled them).
    session_epoch = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    confirmed_by_ghl_at = models.DateTimeField(null=True, blank=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "ghl_id"], name="ghluser_unique_per_agency"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.ghl_id

    @property
    def is_owner_or_admin(self) -> bool:
        return self.role in (self.ROLE_OWNER, self.ROLE_ADMIN)

    def save(self, **kwargs):
        return save_without_epoch(self, super().save, kwargs)


class Tag(TenantModel):
    """A label owners and admins put on sub-accounts, to narrow every page to them
    (analytics.segments). Every agency gets "premium" (builtin="premium") on install; renaming it
    keeps it the tag the premium segment follows. Names are unique per agency whatever their case
    (name_key, kept by save())."""

    BUILTIN_PREMIUM = "premium"
    NAME_MAX = 40

    name = models.CharField(max_length=NAME_MAX)
    name_key = models.CharField(max_length=NAME_MAX, editable=False)
    builtin = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "name_key"], name="tag_name_once_per_agency"),
            models.UniqueConstraint(
                fields=["agency", "builtin"],
                condition=~models.Q(builtin=""),
                name="tag_builtin_once_per_agency",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def key_for(name: str) -> str:
        return name.casefold()[: Tag.NAME_MAX]

    def save(self, *args, **kwargs):
        self.name_key = self.key_for(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        return super().save(*args, **kwargs)


# The links below point at other tenant tables: the database's foreign key is the composite
# (id, agency_id) one their migration makes (gocsm.migrationops.ForeignKeyWithAgency, docs/
# scaling.md §4), so Django's own is db_constraint=False; on_delete still cascades in the ORM.


class LocationTag(TenantModel):
    """A tag applied to a sub-account (accounts.tagging writes these)."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="tag_links", db_constraint=False
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, related_name="links", db_constraint=False
    )
    added_at = models.DateTimeField(default=dj_tz.now)
    # GHL user id of whoever applied it ("" for the system, e.g. the demo or a migration).
    added_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "location", "tag"], name="locationtag_once_per_agency"
            ),
        ]
        indexes = [models.Index(fields=["agency", "tag"], name="locationtag_agency_tag")]

    def __str__(self) -> str:
        return f"{self.location_id}:{self.tag_id}"


class CSMAssignment(TenantModel):
    """The agency's GHL user who looks after a sub-account (its customer-success manager): the
    sub-accounts assigned to one person are their book (analytics.segments). One per
    sub-account."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    csm = models.ForeignKey(
        GHLUser, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    assigned_at = models.DateTimeField(default=dj_tz.now)
    assigned_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "location"], name="csm_one_per_location"),
        ]
        indexes = [models.Index(fields=["agency", "csm"], name="csm_agency_csm")]

    def __str__(self) -> str:
        return f"{self.location_id} -> {self.csm_id}"


class AppendOnlyViolation(RuntimeError):
    """Something tried to change or delete an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    """Audit events can be added and read, never changed or removed.

    Pruning past the retention period and erasing a purged agency go through the one sanctioned
    path, accounts.audit.delete_audit_events_bypassing_append_only().
    """

    def update(self, **kwargs):
        raise AppendOnlyViolation("audit events are append-only: update() is not allowed")

    def delete(self):
        raise AppendOnlyViolation("audit events are append-only: delete() is not allowed")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyViolation("audit events are append-only: bulk_update() is not allowed")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyViolation("audit events are append-only: update_or_create() is not allowed")

    def bulk_create(self, objs, *args, **kwargs):
        # An upsert (update_conflicts) would rewrite existing rows; plain inserts are fine.
        if kwargs.get("update_conflicts"):
            raise AppendOnlyViolation("audit events are append-only: no upserts")
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(models.Model):
    """Append-only record of security-relevant actions. Never holds a token, payload or cookie.

    Write through accounts.audit.record() only; it redacts the detail. Saving an existing event or
    deleting one raises AppendOnlyViolation.
    """

    ACTOR_GHL = "ghl_user"
    ACTOR_STAFF = "staff"
    ACTOR_SYSTEM = "system"
    # Read by accounts.purge: rows of this model are removed only through the sanctioned bypass.
    append_only = True

    at = models.DateTimeField(default=dj_tz.now, db_index=True)
    actor_type = models.CharField(max_length=16, default=ACTOR_SYSTEM)
    actor_id = models.CharField(max_length=64, blank=True)
    # Nullable and not a cascade: failed sign-ins have no agency, and a purge keeps its own record.
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, default="success")
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["agency", "-at"], name="audit_agency_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        # Only the first insert is allowed; a stored event is never rewritten.
        if not self._state.adding or kwargs.get("force_update"):
            raise AppendOnlyViolation("audit events are append-only: an event cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation("audit events are append-only: an event cannot be deleted")
