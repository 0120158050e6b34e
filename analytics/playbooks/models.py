"""Playbooks (issue 16): plays, the trigger episodes they fire on, their deliveries and tasks.

All rows live in the default database with an agency foreign key (purge finds them by it). As
every tenant table (docs/scaling.md §4), their unique constraints include the agency, and on
PostgreSQL their primary keys and the foreign keys between them do too (migration 0001, with
gocsm.migrationops; the Django fields say db_constraint=False). The
webhook URLs and the signing secret are secrets: stored only as Fernet ciphertext
(gocsm.encryption), in fields whose names keep them out of admin (gocsm.adminsafe), rendered
only masked (playbooks.outbound.mask_url).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_tz

from accounts.models import GHLUser
from accounts.tenancy import TenantModel


class Play(TenantModel):
    """When `trigger` starts an episode on a sub-account (narrowed by segment/tag), run the
    actions switched on here."""

    name = models.CharField(max_length=120)
    # A trigger kind of playbooks.triggers (a risk flag code, "recovered", "churn_probability").
    trigger = models.CharField(max_length=64)
    # churn_probability only: fire when the predicted 90-day churn probability reaches this.
    threshold = models.FloatField(null=True, blank=True)
    # Narrowing (issue 15): empty = every sub-account.
    segment = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=False)
    # The ready-made play this one was made from ("" = made by hand).
    template = models.CharField(max_length=64, blank=True)
    # Actions. URLs are Fernet ciphertext ("" = action off).
    ghl_webhook_secret_url = models.TextField(blank=True)
    slack_webhook_secret_url = models.TextField(blank=True)
    email_on = models.BooleanField(default=False)
    task_on = models.BooleanField(default=False)
    task_due_days = models.PositiveSmallIntegerField(default=3)
    # The task's assignee; null = the sub-account's assigned CSM (or the agency owner).
    task_assignee = models.ForeignKey(
        GHLUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    task_note = models.CharField(max_length=500, blank=True)
    # HMAC-SHA256 key of the X-GoCSM-Signature header, Fernet ciphertext.
    signing_secret = models.TextField(blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class PlayPeriod(TenantModel):
    """A span during which a play was on: the outcomes compare episodes that started inside one
    with those that started outside all of them."""

    play = models.ForeignKey(
        Play, on_delete=models.CASCADE, related_name="periods", db_constraint=False
    )
    on_at = models.DateTimeField(default=dj_tz.now)
    off_at = models.DateTimeField(null=True, blank=True)


class Episode(TenantModel):
    """A spell during which a trigger's condition holds on a sub-account. A new one starts only
    after the last one ended (playbooks.triggers defines when a condition holds and clears)."""

    END_RECOVERED, END_CHURNED, END_GONE = "recovered", "churned", "gone"
    END_REASONS = [
        (END_RECOVERED, "Recovered"),
        (END_CHURNED, "Churned"),
        (END_GONE, "No longer analysed"),
    ]
    location_ghl_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=dj_tz.now)
    started_day = models.DateField()
    # The last day the condition held; it clears after triggers.CLEAR_DAYS days without it.
    last_held_day = models.DateField()
    ended_day = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=END_REASONS, blank=True)
    # What the sub-account looked like when it started (band rank, score, evidence).
    start_band = models.CharField(max_length=16, blank=True)
    start_score = models.SmallIntegerField(null=True, blank=True)
    evidence = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "location_ghl_id", "kind"],
                condition=Q(ended_day__isnull=True),
                name="episode_one_open_per_kind",
            )
        ]
        indexes = [models.Index(fields=["agency", "kind", "started_day"], name="episode_kind")]


class Run(TenantModel):
    """A play fired for one episode of one sub-account."""

    play = models.ForeignKey(
        Play, on_delete=models.CASCADE, related_name="runs", db_constraint=False
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="runs", db_constraint=False
    )
    location_ghl_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=dj_tz.now)
    # The JSON every action sends (payload version 1, docs/playbooks.md), fixed at firing.
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "play", "episode"], name="run_once_per_episode"
            )
        ]


class Delivery(TenantModel):
    """One action of one run. The unique constraint is the idempotency claim: the row exists
    before anything is sent, and a sender must move it from pending/retrying to sending."""

    GHL, SLACK, EMAIL, TASK = "ghl_webhook", "slack", "email", "task"
    ACTIONS = [
        (GHL, "GHL workflow"),
        (SLACK, "Slack"),
        (EMAIL, "Email"),
        (TASK, "Task"),
    ]
    PENDING, SENDING, RETRYING, SENT, FAILED, INTERRUPTED = (
        "pending",
        "sending",
        "retrying",
        "sent",
        "failed",
        "interrupted",
    )
    STATUSES = [
        (PENDING, "Queued"),
        (SENDING, "Sending"),
        (RETRYING, "Waiting to retry"),
        (SENT, "Delivered"),
        (FAILED, "Failed"),
        (INTERRUPTED, "Interrupted (not resent)"),
    ]
    play = models.ForeignKey(
        Play, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    location_ghl_id = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=ACTIONS)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Why the last attempt failed, in words we wrote (never a URL, header or response body).
    error = models.CharField(max_length=200, blank=True)
    # Where it went, masked (scheme and host, the path's secret parts hidden; an email's domain).
    target = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now)
    deadline = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a delivery waiting to retry is due.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "play", "location_ghl_id", "episode", "action"],
                name="delivery_once_per_play_episode_action",
            )
        ]
        indexes = [models.Index(fields=["agency", "play", "-created_at"], name="delivery_log")]
        verbose_name_plural = "deliveries"


class Task(TenantModel):
    """A to-do in GoCSM for someone at the agency about one sub-account."""

    OPEN, DONE = "open", "done"
    STATUSES = [(OPEN, "Open"), (DONE, "Done")]
    CLOSED_BY_HAND, CLOSED_RECOVERED = "by_hand", "recovered"
    location_ghl_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        GHLUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    due = models.DateField()
    status = models.CharField(max_length=8, choices=STATUSES, default=OPEN)
    notes = models.TextField(blank=True, max_length=4000)
    # The run that opened it (one task per run), and the episode whose recovery closes it.
    run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        db_constraint=False,
    )
    episode = models.ForeignKey(
        Episode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=dj_tz.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_how = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["status", "due", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "run"],
                condition=Q(run__isnull=False),
                name="task_once_per_run",
            )
        ]
        indexes = [models.Index(fields=["agency", "status", "due"], name="task_open_due")]
