"""Analytics store (the "analytics" database alias): daily facts, rollups, scores, flags, alerts.

Counts only: no contact, lead or message data ever lands here. Rows carry a plain `agency_id`
(foreign keys cannot cross databases) and a sub-account's GHL id; every query goes through
`.for_agency()` like any tenant model. Days are calendar days in the agency's timezone.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone as dj_tz

from accounts.tenancy import TenantFactModel

# Coarse feature names sent by the tracker (issue 5 §2); anything else is counted as "other".
FEATURES = (
    "dashboard",
    "conversations",
    "calendars",
    "contacts",
    "opportunities",
    "payments",
    "workflows",
    "sites",
    "reputation",
    "reporting",
    "settings",
    "other",
)
FEATURE_ALIASES = {"automation": "workflows", "workflows/automation": "workflows"}
SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "canceled", "unpaid", "paused", "none")


class LocationDayFact(TenantFactModel):
    """What one sub-account looked like on one day (levels) and what happened that day (flows).

    Written only by analytics.ingest.record_location_day; NULL means "not known", never zero.
    """

    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    users_total = models.IntegerField(null=True)
    users_admin = models.IntegerField(null=True)
    users_user = models.IntegerField(null=True)
    workflows_total = models.IntegerField(null=True)
    workflows_published = models.IntegerField(null=True)
    workflows_draft = models.IntegerField(null=True)
    workflows_created = models.IntegerField(null=True)
    workflows_updated = models.IntegerField(null=True)
    calendars_total = models.IntegerField(null=True)
    calendars_active = models.IntegerField(null=True)
    appointments_booked = models.IntegerField(null=True)
    products_total = models.IntegerField(null=True)
    conversations_total = models.IntegerField(null=True)
    conversations_created = models.IntegerField(null=True)
    conversations_inbound = models.IntegerField(null=True)
    conversations_outbound = models.IntegerField(null=True)
    saas_plan_id = models.CharField(max_length=64, null=True)  # noqa: DJ001 NULL = not measured
    subscription_status = models.CharField(max_length=16, null=True)  # noqa: DJ001 NULL = not measured
    mrr_cents = models.BigIntegerField(null=True)
    mrr_currency = models.CharField(max_length=3, null=True)  # noqa: DJ001 NULL = not measured
    updated_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "day"], name="fact_one_row_per_location_day"
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="fact_agency_day")]


class UserActivityDay(TenantFactModel):
    """One person's use of one sub-account on one day, from the Custom JS tracker's counters.

    Minutes are fixed columns per feature so rollups can SUM them in plain SQL.
    """

    location_ghl_id = models.CharField(max_length=64)
    user_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    sessions = models.IntegerField(default=0)
    is_agency_staff = models.BooleanField(default=False)
    minutes_total = models.IntegerField(default=0)
    minutes_dashboard = models.IntegerField(default=0)
    minutes_conversations = models.IntegerField(default=0)
    minutes_calendars = models.IntegerField(default=0)
    minutes_contacts = models.IntegerField(default=0)
    minutes_opportunities = models.IntegerField(default=0)
    minutes_payments = models.IntegerField(default=0)
    minutes_workflows = models.IntegerField(default=0)
    minutes_sites = models.IntegerField(default=0)
    minutes_reputation = models.IntegerField(default=0)
    minutes_reporting = models.IntegerField(default=0)
    minutes_settings = models.IntegerField(default=0)
    minutes_other = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "user_ghl_id", "day"],
                name="activity_one_row_per_user_location_day",
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="activity_agency_day")]


class Grain(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "ISO week"
    MONTH = "month", "Month"


# location_ghl_id == AGENCY_SCOPE marks the agency-wide row of a rollup.
AGENCY_SCOPE = ""


class FactRollup(TenantFactModel):
    """Daily facts summed (flows) or maxed (levels) per sub-account or agency per period."""

    # The composite indexes below all start with agency_id: a separate index on it alone would
    # only slow the bulk writes of a recompute.
    agency_id = models.BigIntegerField()
    location_ghl_id = models.CharField(max_length=64, blank=True)
    grain = models.CharField(max_length=8, choices=Grain.choices)
    period_start = models.DateField()
    days_reported = models.IntegerField(default=0)
    users_total = models.IntegerField(null=True)
    workflows_total = models.IntegerField(null=True)
    workflows_published = models.IntegerField(null=True)
    workflows_created = models.IntegerField(null=True)
    calendars_total = models.IntegerField(null=True)
    calendars_active = models.IntegerField(null=True)
    appointments_booked = models.IntegerField(null=True)
    products_total = models.IntegerField(null=True)
    conversations_total = models.IntegerField(null=True)
    conversations_created = models.IntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "grain", "period_start"],
                name="factrollup_unique",
            )
        ]


class ActivityRollup(TenantFactModel):
    """Login activity per sub-account or agency per period (staff counted apart)."""

    # The composite indexes below all start with agency_id: a separate index on it alone would
    # only slow the bulk writes of a recompute.
    agency_id = models.BigIntegerField()
    location_ghl_id = models.CharField(max_length=64, blank=True)
    grain = models.CharField(max_length=8, choices=Grain.choices)
    period_start = models.DateField()
    active_users = models.IntegerField(default=0)
    staff_users = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    staff_sessions = models.IntegerField(default=0)
    minutes_total = models.IntegerField(default=0)
    minutes_dashboard = models.IntegerField(default=0)
    minutes_conversations = models.IntegerField(default=0)
    minutes_calendars = models.IntegerField(default=0)
    minutes_contacts = models.IntegerField(default=0)
    minutes_opportunities = models.IntegerField(default=0)
    minutes_payments = models.IntegerField(default=0)
    minutes_workflows = models.IntegerField(default=0)
    minutes_sites = models.IntegerField(default=0)
    minutes_reputation = models.IntegerField(default=0)
    minutes_reporting = models.IntegerField(default=0)
    minutes_settings = models.IntegerField(default=0)
    minutes_other = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "grain", "period_start"],
                name="activityrollup_unique",
            )
        ]


class ScoreSettings(TenantFactModel):
    """An agency's component weights and band thresholds (defaults in analytics.scores)."""

    weights = models.JSONField(default=dict)
    bands = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=dj_tz.now)
    updated_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_id"], name="scoresettings_one_per_agency")
        ]


class WeightChange(TenantFactModel):
    """A marker on score history: from this day on, scores use different weights or bands."""

    day = models.DateField()
    at = models.DateTimeField(default=dj_tz.now)
    changed_by = models.CharField(max_length=200, blank=True)
    old = models.JSONField(default=dict)
    new = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]


class HealthScore(TenantFactModel):
    """A sub-account's health score on one day, with each component and what it contributed."""

    # The composite indexes below all start with agency_id: a separate index on it alone would
    # only slow the bulk writes of a recompute.
    agency_id = models.BigIntegerField()
    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    score = models.SmallIntegerField()
    band = models.CharField(max_length=16)
    # {component: 0-100 value or null when it had no data}
    components = models.JSONField(default=dict)
    # {component: points it added to the score}; null components are absent
    contributions = models.JSONField(default=dict)
    # Adoption-breadth features that were known / in use that day, as bits of ADOPTION_BITS.
    adoption_known = models.SmallIntegerField(db_default=0)
    adoption_used = models.SmallIntegerField(db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "day"], name="score_one_per_location_day"
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="score_agency_day")]


ADOPTION_FEATURES = (
    "workflows",
    "calendars",
    "products",
    "conversations",
    "payments",
    "reputation",
)
ADOPTION_BITS = {name: 1 << k for k, name in enumerate(ADOPTION_FEATURES)}


class RiskFlag(TenantFactModel):
    """A churn-risk signal raised for a sub-account on a day, with the evidence behind it."""

    # The composite indexes below all start with agency_id: a separate index on it alone would
    # only slow the bulk writes of a recompute.
    agency_id = models.BigIntegerField()
    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    code = models.CharField(max_length=32)
    weight = models.FloatField()
    evidence = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "day", "code"], name="flag_unique"
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="flag_agency_day")]


class Alert(TenantFactModel):
    """Something that changed for the worse: a band drop or a newly raised flag."""

    # The composite indexes below all start with agency_id: a separate index on it alone would
    # only slow the bulk writes of a recompute.
    agency_id = models.BigIntegerField()
    KIND_BAND_DROP = "band_drop"
    KIND_NEW_FLAG = "new_flag"

    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    kind = models.CharField(max_length=16)
    code = models.CharField(max_length=32, blank=True)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "day", "kind", "code"],
                name="alert_unique",
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="alert_agency_day")]


class Lifecycle(models.TextChoices):
    """Where a sub-account stands on a day (analytics.daystate's docstring defines each)."""

    ONBOARDING = "onboarding", "Onboarding"
    CONNECTED = "connected", "Connected"
    NOT_CONNECTED = "not_connected", "Not connected"
    CHURNED = "churned", "Churned"


class MRRSource(models.TextChoices):
    GHL = "ghl", "GHL SaaS"
    MANUAL = "manual", "Manual"
    NONE = "none", "Not billed in GHL"


class LocationDay(TenantFactModel):
    """A sub-account's state on one day: its lifecycle, whether it is scored, and the money
    figures carried forward from the latest known values (analytics.daystate). One row per day
    from the sub-account's first fact or activity on; every revenue figure reads these rows."""

    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices)
    scored = models.BooleanField()
    subscription_status = models.CharField(max_length=16, blank=True)
    plan_id = models.CharField(max_length=64, blank=True)
    # Counted MRR in minor units; NULL when nothing says what the sub-account pays (mrr_source
    # "none": not billed in GHL and no manual figure), never a made-up zero.
    mrr_cents = models.BigIntegerField(null=True)
    currency = models.CharField(max_length=3, blank=True)
    mrr_source = models.CharField(max_length=8, choices=MRRSource.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id", "day"], name="locday_one_per_location_day"
            )
        ]
        indexes = [models.Index(fields=["agency_id", "day"], name="locday_agency_day")]


class ManualMRR(TenantFactModel):
    """MRR an owner or admin entered for a sub-account billed outside GHL SaaS: it applies from
    `since` (NULL: from the sub-account's first day) until a later entry. An entry with no amount
    ends the manual figure. GHL's own figure wins on any day it has one."""

    location_ghl_id = models.CharField(max_length=64)
    since = models.DateField(null=True, blank=True)
    mrr_cents = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    entered_at = models.DateTimeField(default=dj_tz.now)
    entered_by = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=8, default="form")

    class Meta:
        indexes = [
            models.Index(fields=["agency_id", "location_ghl_id", "since"], name="manualmrr_loc")
        ]


class LocationState(TenantFactModel):
    """Where one sub-account stands on the agency's latest scored day: what the overview, at-risk,
    adoption and login pages list, precomputed by analytics.current_state after each recompute
    so a page reads one indexed slice instead of a year of facts."""

    location_ghl_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    # name.lower() as Python lowercases it: the pages sort on it through the indexes below.
    sort_name = models.CharField(max_length=200, blank=True)
    day = models.DateField()
    # Plan limit order: 1 = analysed first (highest MRR, then name).
    analysis_rank = models.IntegerField()
    score = models.SmallIntegerField(null=True)
    band = models.CharField(max_length=16, blank=True)
    change = models.SmallIntegerField(null=True)
    # Sparkline polyline points of the last 30 scores (analytics.charts.spark_points).
    spark = models.TextField(blank=True)
    mrr_cents = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    risk_weight = models.FloatField(default=0)
    mrr_at_risk = models.BigIntegerField(default=0)
    # ",code,code," so a filter is a plain LIKE on any database.
    flag_codes = models.CharField(max_length=300, blank=True)
    flags = models.JSONField(default=list)
    top_reason = models.CharField(max_length=100, blank=True)
    last_activity = models.DateField(null=True)
    adoption_known = models.SmallIntegerField(default=0)
    adoption_used = models.SmallIntegerField(default=0)
    active_users = models.IntegerField(default=0)
    staff_users = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    minutes = models.IntegerField(default=0)
    tier_heavy = models.IntegerField(default=0)
    tier_regular = models.IntegerField(default=0)
    tier_casual = models.IntegerField(default=0)
    tier_ghosting = models.IntegerField(default=0)
    # {feature: minutes} by the sub-account's own users over the 30 days (features with any).
    feature_minutes = models.JSONField(default=dict)
    # The sub-account's own users (GHL's users of it, and anyone active as its user) and agency
    # staff who worked in it: [{name, staff, last (iso day or null), days30, tier}], as the page
    # lists them (own users first, most active first).
    users = models.JSONField(default=list)
    # analytics.daystate: the day's lifecycle ("" before any data), the sub-account's first day,
    # where its MRR comes from, and its GHL subscription's status and plan name.
    lifecycle = models.CharField(max_length=16, blank=True)
    first_day = models.DateField(null=True)
    mrr_source = models.CharField(max_length=8, default=MRRSource.NONE)
    subscription_status = models.CharField(max_length=16, blank=True)
    plan_name = models.CharField(max_length=200, blank=True)
    # analytics.churn: probability of churn within 90 days and probability x MRR (NULL: no
    # model in use for the agency, or no prediction for the sub-account).
    churn_probability = models.FloatField(null=True)
    expected_mrr_lost = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id"], name="state_one_per_location"
            )
        ]
        # One index per sort of the overview; a descending sort scans it backwards (every
        # column flips together, and NULL scores sort last ascending, first descending).
        indexes = [
            models.Index(fields=["agency_id", "analysis_rank"], name="state_agency_rank"),
            models.Index(
                fields=["agency_id", "score", "sort_name", "location_ghl_id"], name="state_by_score"
            ),
            models.Index(
                fields=["agency_id", "change", "sort_name", "location_ghl_id"],
                name="state_by_change",
            ),
            models.Index(
                fields=["agency_id", "mrr_cents", "sort_name", "location_ghl_id"],
                name="state_by_mrr",
            ),
            models.Index(
                fields=["agency_id", "mrr_at_risk", "risk_weight", "sort_name", "location_ghl_id"],
                name="state_by_risk",
            ),
            models.Index(
                fields=["agency_id", "sort_name", "location_ghl_id"], name="state_by_name"
            ),
            # Sorts that mix directions (most first, then by name) need their own order.
            models.Index(
                fields=[
                    "agency_id",
                    "-mrr_at_risk",
                    "-risk_weight",
                    "sort_name",
                    "location_ghl_id",
                ],
                name="state_at_risk_list",
            ),
            models.Index(
                fields=["agency_id", "-sessions", "sort_name", "location_ghl_id"],
                name="state_by_sessions",
            ),
            models.Index(
                fields=["agency_id", "-active_users", "sort_name", "location_ghl_id"],
                name="state_by_active",
            ),
            models.Index(
                fields=["agency_id", "-minutes", "sort_name", "location_ghl_id"],
                name="state_by_minutes",
            ),
        ]


class PortfolioState(TenantFactModel):
    """The agency-wide figures of the same day for the whole portfolio (people counted once
    across sub-accounts), and the revenue series: read when a page shows every sub-account."""

    day = models.DateField()
    # Sub-accounts with a LocationState row (the plan limit's "N of M").
    locations = models.IntegerField(default=0)
    # The plan limit these figures were computed under (None: every sub-account analysed).
    limit_applied = models.IntegerField(null=True)
    active_users = models.IntegerField(default=0)
    active_users_before = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    sessions_before = models.IntegerField(default=0)
    # Scored sub-accounts per band ("" = scored lifecycle but no data yet), MRR and MRR at risk
    # per currency, that day.
    band_counts = models.JSONField(default=dict)
    # Sub-accounts per lifecycle ("" = no data at all yet) and scored ones per MRR source.
    lifecycle_counts = models.JSONField(default=dict)
    billing_counts = models.JSONField(default=dict)
    mrr_totals = models.JSONField(default=dict)
    risk_totals = models.JSONField(default=dict)
    # People per login tier (heavy/regular/casual/ghosting) summed over the sub-accounts.
    tiers = models.JSONField(default=dict)
    # [[iso day, {band: count}], ...] for 12 weeks on the same weekday
    band_trend = models.JSONField(default=list)
    # {currency: {iso day: counted MRR cents}} for the last 365 days
    mrr_daily = models.JSONField(default=dict)
    # analytics.revenue.MonthMovement fields per month and currency
    movements = models.JSONField(default=list)
    # [[iso day, changed by], ...]: weight or band changes of the last year, oldest first.
    weight_changes = models.JSONField(default=list)
    # The latest alerts of the last 7 days over the analysed sub-accounts (newest first), each
    # {day, location_ghl_id, location_name, kind, code, message}.
    alerts = models.JSONField(default=list)
    # Sub-accounts with at least one risk flag (the at-risk list's length).
    flagged = models.IntegerField(default=0)
    # {feature: [sub-accounts using it, sub-accounts where it is known]} that day.
    adoption = models.JSONField(default=dict)
    # Own users' sessions per day over the 30 days ([[iso day, n], ...], oldest first) and
    # their minutes per feature over the same days.
    sessions_daily = models.JSONField(default=list)
    feature_minutes = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_id"], name="portfoliostate_one_per_agency")
        ]


# --- Sentiment: the in-app NPS prompt (issue 15 §1) -------------------------------------------
NPS_COMMENT_MAX = 1000  # characters; longer comments are refused (400), never cut silently
NPS_DEFAULT_ASK_EVERY_DAYS = 90


class SentimentSettings(TenantFactModel):
    """How often the tracker may ask one person for an NPS rating (per agency)."""

    ask_every_days = models.PositiveSmallIntegerField(default=NPS_DEFAULT_ASK_EVERY_DAYS)
    updated_at = models.DateTimeField(default=dj_tz.now)
    updated_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_id"], name="sentimentsettings_one_per_agency")
        ]


class NpsOptIn(TenantFactModel):
    """A sub-account whose users the tracker may ask for an NPS rating (the owner switched it
    on). No row: the prompt is off there."""

    location_ghl_id = models.CharField(max_length=64)
    enabled_at = models.DateTimeField(default=dj_tz.now)
    enabled_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id"], name="npsoptin_one_per_location"
            )
        ]


class NpsResponse(TenantFactModel):
    """One NPS prompt shown to a sub-account's own user: written when the tracker is told to
    show it (`outcome` asked), then answered (`rating` 0-10 and an optional comment) or
    dismissed. Who: the GHL user id and the name GHL's payload gave (the payload itself is never
    stored). Comments never leave GoCSM (not sent to PostHog)."""

    ASKED, ANSWERED, DISMISSED = "asked", "answered", "dismissed"
    OUTCOMES = [(ASKED, "Asked, no answer"), (ANSWERED, "Answered"), (DISMISSED, "Dismissed")]

    location_ghl_id = models.CharField(max_length=64)
    user_ghl_id = models.CharField(max_length=64)
    user_name = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=OUTCOMES, default=ANSWERED)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)  # NULL unless answered
    comment = models.TextField(max_length=NPS_COMMENT_MAX, blank=True)
    day = models.DateField()  # in the agency's timezone: the answer's (else the prompt's) day
    at = models.DateTimeField(default=dj_tz.now)  # when the prompt was shown
    answered_at = models.DateTimeField(null=True, blank=True)  # answered or dismissed

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["agency_id", "location_ghl_id", "day"], name="nps_agency_loc_day"),
            models.Index(fields=["agency_id", "user_ghl_id", "at"], name="nps_agency_user_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__lte=10),
                name="nps_rating_0_to_10",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="answered", rating__isnull=False)
                | models.Q(outcome__in=("asked", "dismissed"), rating__isnull=True),
                name="nps_rating_iff_answered",
            ),
        ]

    @property
    def category(self) -> str:
        return outcome_category(self.outcome, self.rating)


def outcome_category(outcome: str, rating: int | None) -> str:
    """A prompt's category: promoter, passive, detractor, dismissed or unanswered."""
    return nps_category(rating) or ("unanswered" if outcome == NpsResponse.ASKED else outcome)


def nps_category(rating: int | None) -> str:
    """promoter (9-10), passive (7-8), detractor (0-6), or "" without a rating."""
    if rating is None:
        return ""
    return "promoter" if rating >= 9 else "passive" if rating >= 7 else "detractor"


class ChurnModel(TenantFactModel):
    """An agency's churn model (analytics.churnmodel), trained on its own history only: the
    fitted numbers as JSON (never a pickle), or why there is none (cold start), with the
    backtest of the same training."""

    STATUS_MODEL = "model"
    STATUS_COLD_START = "cold_start"

    trained_at = models.DateTimeField(default=dj_tz.now)
    # The last day of history it learned from (the day its predictions are for).
    day = models.DateField(null=True)
    status = models.CharField(max_length=16)
    horizon_days = models.SmallIntegerField(default=90)
    # Churn events its training rows saw, and how many a model needs.
    events = models.IntegerField(default=0)
    events_needed = models.IntegerField(default=10)
    training_rows = models.IntegerField(default=0)
    # analytics.churnmodel.Model.as_json(): names, means, scales, coefficients, intercept.
    fitted = models.JSONField(default=dict)
    # {"pooled": {horizon: {...}}, "cutoffs": [...], "calibration": {...}, "skipped": [...]}
    backtest = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_id"], name="churnmodel_one_per_agency")
        ]


class ChurnPrediction(TenantFactModel):
    """A sub-account's probability of churning within the horizon, as of the model's day, with
    the drivers of its prediction: {driver: contribution to the logit}, which with `intercept`
    add up to `logit` (p = 1 / (1 + exp(-logit)))."""

    location_ghl_id = models.CharField(max_length=64)
    day = models.DateField()
    probability = models.FloatField()
    logit = models.FloatField()
    intercept = models.FloatField()
    drivers = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "location_ghl_id"], name="churnprediction_one_per_location"
            )
        ]
