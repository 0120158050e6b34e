"""The GHL connection: one Installation per agency (encrypted tokens), pull runs, webhooks."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone as dj_tz

from accounts.tenancy import TenantModel
from sync import tokens


class Installation(models.Model):
    """The agency's OAuth grant. Token columns hold Fernet ciphertext only (sync/tokens.py).

    Empty token columns mean "no usable grant": never installed through OAuth, uninstalled (tokens
    deleted at once) or revoked (invalid_grant; the agency is marked needs_reauth).
    """

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="installation"
    )
    company_id = models.CharField(max_length=64)
    user_type = models.CharField(max_length=16, default="Company")
    access_token = models.TextField(blank=True)
    refresh_token = models.TextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    installer_user_id = models.CharField(max_length=64, blank=True)
    plan_id = models.CharField(max_length=64, blank=True)
    installed_at = models.DateTimeField(default=dj_tz.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Installation({self.company_id})"

    def __repr__(self) -> str:
        return f"<Installation {self.pk} company={self.company_id}>"

    @property
    def has_tokens(self) -> bool:
        return bool(self.access_token and self.refresh_token)

    def store_grant(self, grant) -> None:
        """Encrypt and set a fresh token pair (the caller saves inside its transaction)."""
        now = dj_tz.now()
        self.access_token = tokens.encrypt(grant.access_token)
        self.refresh_token = tokens.encrypt(grant.refresh_token)
        self.access_expires_at = now + timedelta(seconds=grant.expires_in)
        if grant.scope:
            self.scopes = grant.scope
        self.refreshed_at = now
        self.revoked_at = None

    def wipe_tokens(self) -> None:
        self.access_token = ""
        self.refresh_token = ""
        self.access_expires_at = None
        self.revoked_at = dj_tz.now()


class SyncRun(TenantModel):
    """One pull for one agency: when, how much, and why it stopped."""

    STATUS_QUEUED = "queued"
    STATUS_RUNNING = "running"
    STATUS_OK = "ok"
    STATUS_PARTIAL = "partial"
    STATUS_FAILED = "failed"

    kind = models.CharField(max_length=32, default="metadata")
    status = models.CharField(max_length=16, default=STATUS_QUEUED)
    reason = models.CharField(max_length=64, blank=True)  # why it was started (install, beat)
    stop_reason = models.CharField(max_length=64, blank=True)  # revoked | rate_limited | ghl_down
    requested_at = models.DateTimeField(default=dj_tz.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    # Fan-out progress: the run closes when every sub-account task has reported once.
    locations_total = models.PositiveIntegerField(default=0)
    locations_done = models.PositiveIntegerField(default=0)
    locations_failed = models.PositiveIntegerField(default=0)
    # Days (agency timezone) whose facts this run wrote; the analytics recompute covers them.
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["agency", "-requested_at"], name="syncrun_agency_at")]

    def __str__(self) -> str:
        return f"SyncRun({self.agency_id}, {self.kind}, {self.status})"


class WebhookReceipt(models.Model):
    """A GHL webhook we accepted, keyed by its webhookId so a replay is refused.

    Holds ids and the event type only; never the payload.
    """

    webhook_id = models.CharField(max_length=128, unique=True)
    event_type = models.CharField(max_length=64)
    company_id = models.CharField(max_length=64, blank=True)
    location_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=dj_tz.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"


class SyncRunLocation(TenantModel):
    """One sub-account's part of a run. Unique per (agency, run, sub-account), so a task that runs
    again after a crash reports once and the run's counters never count it twice."""

    # The database's constraint is FOREIGN KEY (run_id, agency_id) -> sync_syncrun (id, agency_id),
    # made by migration 0003 (gocsm.migrationops.ForeignKeyWithAgency, docs/scaling.md §4).
    run = models.ForeignKey(
        SyncRun, on_delete=models.CASCADE, related_name="locations", db_constraint=False
    )
    location_ghl_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16)  # ok | failed | skipped
    stop_reason = models.CharField(max_length=64, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "run", "location_ghl_id"], name="syncrunloc_once_per_agency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location_ghl_id} in run {self.run_id}: {self.status}"


class LocationPullState(TenantModel):
    """How far each sub-account's daily counts are complete, so the next pull catches up.

    `counts_through` is the last day (agency timezone) whose counts were pulled; the next counts
    pull starts there (that day may have been partial) and runs to today. Empty: never pulled,
    so the first pull backfills what GHL can date.
    """

    location_ghl_id = models.CharField(max_length=64)
    counts_through = models.DateField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_stop_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "location_ghl_id"], name="locpullstate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location_ghl_id}: counts through {self.counts_through}"
