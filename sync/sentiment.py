"""The tracker's NPS prompt: whether to ask one person, and storing their answer or dismissal.

Requests come from the Custom JS tracker on GHL pages, like activity beacons, and are
authenticated the same way: by GHL's encrypted user payload, decrypted in memory, never stored or
logged. A request is `{"payload", "location_id", "v"}` plus, for an answer, `"rating"` (0-10) and
`"comment"` (text, at most NPS_COMMENT_MAX characters; may be empty).

Who is asked: a sub-account's own users (payload `type` "location"; without a type, anyone our
synced user list does not know as agency-level), in a sub-account that is installed, belongs to
the payload's installed agency and that the owner switched the prompt on for (NpsOptIn), and at
most once per person per `ask_every_days` (SentimentSettings, default 90) anywhere in the
agency: the prompt is recorded when the server says "ask" (NpsResponse, outcome asked), and that
starts the wait, whether the person then answers, dismisses it or leaves it and goes away.
Agency staff viewing a sub-account are never asked and their answers are refused. Nothing else
of the GHL page is read or sent.

Refusals: 400 malformed (with the field at fault), 413 too large, 403 payload, agency or
sub-account not ours or not installed (one generic reason, so it tells a prober nothing), 403
`agency_staff` / `not_enabled`, 409 `already_answered` (the prompt was answered or dismissed),
429 over the person's rate, 503 when Redis or the database is down.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone as dj_tz

from accounts.models import Agency, Location
from accounts.sso import InvalidSSOPayload, SSOIdentity, decrypt_with_rotation
from analytics.agencyclock import agency_today
from analytics.models import (
    NPS_COMMENT_MAX,
    NPS_DEFAULT_ASK_EVERY_DAYS,
    NpsOptIn,
    NpsResponse,
    SentimentSettings,
)
from analytics.tasks import refresh_analytics_for_days
from gocsm import safejson
from sync.activity import PROTOCOL_VERSIONS, BeaconRejected, _installed_agency, _is_agency_staff
from sync.activity_store import counter_store

_GHL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BASE_FIELDS = frozenset({"payload", "location_id", "v"})
ANSWER_FIELDS = _BASE_FIELDS | {"rating", "comment"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class NpsRefused(BeaconRejected):
    """As BeaconRejected, with a message for the person's browser (never secret)."""

    def __init__(self, status: int, reason: str, message: str = ""):
        super().__init__(status, reason)
        self.message = message


@dataclass(frozen=True, slots=True)
class NpsRequest:
    payload: str
    location_ghl_id: str
    rating: int | None = None
    comment: str = ""


def parse(body: bytes, *, answer: bool) -> NpsRequest:
    """The request's fields, or NpsRefused(400/413). Checks shape only; nothing is decrypted."""
    if len(body) > settings.NPS_MAX_BODY_BYTES:
        raise NpsRefused(413, "too_large", "The request is too large.")
    try:
        data = safejson.loads(body)
    except safejson.InvalidJSON:
        raise NpsRefused(400, "bad_json", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise NpsRefused(400, "not_object", "The body is not a JSON object.")
    expected = ANSWER_FIELDS if answer else _BASE_FIELDS
    if set(data) != expected:
        raise NpsRefused(400, "bad_fields", f"Expected the fields {', '.join(sorted(expected))}.")
    version, payload, location = data["v"], data["payload"], data["location_id"]
    if isinstance(version, bool) or version not in PROTOCOL_VERSIONS:
        raise NpsRefused(400, "bad_version", "Unknown protocol version.")
    if not isinstance(payload, str) or not payload:
        raise NpsRefused(400, "bad_payload_field", "payload must be a non-empty string.")
    if not isinstance(location, str) or not _GHL_ID.match(location):
        raise NpsRefused(400, "bad_location", "location_id is not a GHL sub-account id.")
    if not answer:
        return NpsRequest(payload=payload, location_ghl_id=location)
    rating, comment = data["rating"], data["comment"]
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
        raise NpsRefused(400, "bad_rating", "rating must be a whole number from 0 to 10.")
    if not isinstance(comment, str):
        raise NpsRefused(400, "bad_comment", "comment must be text.")
    comment = _CONTROL.sub("", comment).strip()
    if len(comment) > NPS_COMMENT_MAX:
        raise NpsRefused(
            400, "comment_too_long", f"comment is longer than {NPS_COMMENT_MAX} characters."
        )
    return NpsRequest(payload=payload, location_ghl_id=location, rating=rating, comment=comment)


@dataclass(frozen=True, slots=True)
class Asker:
    """Who is asking, once the payload, agency and sub-account checked out."""

    agency_id: int
    agency_name: str
    identity: SSOIdentity
    location_ghl_id: str
    is_staff: bool


def identify(request: NpsRequest) -> Asker:
    """Authenticate by the payload; NpsRefused(403) when the payload, the agency or the
    sub-account is not ours, or the sub-account is not installed (one generic reason)."""
    try:
        identity = decrypt_with_rotation(
            request.payload,
            [settings.GHL_SSO_SHARED_SECRET, settings.GHL_SSO_SHARED_SECRET_PREVIOUS],
        )
    except InvalidSSOPayload as exc:
        raise NpsRefused(403, f"payload_{exc.reason}") from None
    agency = _installed_agency(identity.company_id)
    if agency is None:
        raise NpsRefused(403, "unknown_agency")
    location = (
        Location.objects.for_agency(agency.id)
        .filter(ghl_id=request.location_ghl_id)
        .values_list("status", "is_installed", "agency__name")
        .first()
    )
    if location is None:
        raise NpsRefused(403, "foreign_location")
    status, installed, agency_name = location
    if status != Location.STATUS_ACTIVE or not installed:
        raise NpsRefused(403, "uninstalled_location")
    return Asker(
        agency_id=agency.id,
        agency_name=agency_name,
        identity=identity,
        location_ghl_id=request.location_ghl_id,
        is_staff=_is_agency_staff(agency.id, identity.type, identity.user_id),
    )


def ask_every_days(agency_id: int) -> int:
    row = SentimentSettings.objects.for_agency(agency_id).values_list("ask_every_days").first()
    return row[0] if row else NPS_DEFAULT_ASK_EVERY_DAYS


def is_enabled(agency_id: int, location_ghl_id: str) -> bool:
    return NpsOptIn.objects.for_agency(agency_id).filter(location_ghl_id=location_ghl_id).exists()


def _recent(agency_id: int, user_ghl_id: str, now: datetime):
    """The person's prompts shown within the agency's wait, newest first."""
    since = now - timedelta(days=ask_every_days(agency_id))
    return (
        NpsResponse.objects.for_agency(agency_id)
        .filter(user_ghl_id=user_ghl_id, at__gt=since)
        .order_by("-at", "-pk")
    )


def asked_recently(agency_id: int, user_ghl_id: str, now: datetime | None = None) -> bool:
    """The person was shown the prompt within the agency's wait."""
    return _recent(agency_id, user_ghl_id, now or dj_tz.now()).exists()


def within_rate(asker: Asker) -> bool:
    """One token of the person's NPS bucket (NPS_RATE_BURST, refilled NPS_RATE_PER_MINUTE)."""
    return counter_store().take_token(
        asker.agency_id,
        f"nps:{asker.identity.user_id}",
        settings.NPS_RATE_BURST,
        settings.NPS_RATE_PER_MINUTE / 60_000,
        int(time.time() * 1000),
    )


def should_ask(asker: Asker) -> bool:
    if asker.is_staff:
        return False
    if not is_enabled(asker.agency_id, asker.location_ghl_id):
        return False
    return not asked_recently(asker.agency_id, asker.identity.user_id)


def ask(asker: Asker) -> bool:
    """Whether the tracker shows the prompt now; a yes is recorded (and starts the wait)."""
    if not should_ask(asker):
        return False
    agency = Agency.objects.only("pk", "timezone").get(pk=asker.agency_id)
    NpsResponse.objects.create(
        agency_id=asker.agency_id,
        location_ghl_id=asker.location_ghl_id,
        user_ghl_id=asker.identity.user_id,
        user_name=asker.identity.user_name[:200],
        outcome=NpsResponse.ASKED,
        day=agency_today(agency),
    )
    return True


def record(asker: Asker, request: NpsRequest, *, dismissed: bool) -> NpsResponse:
    """Store an answer (or a dismissal), then recompute today's score, flags and alerts of the
    agency. NpsRefused(403/409) when this person may not answer here now."""
    if asker.is_staff:
        raise NpsRefused(403, "agency_staff", "Agency staff are not asked for a rating.")
    if not is_enabled(asker.agency_id, asker.location_ghl_id):
        raise NpsRefused(403, "not_enabled", "This sub-account does not ask for ratings.")
    agency = Agency.objects.only("pk", "timezone").get(pk=asker.agency_id)
    today, now = agency_today(agency), dj_tz.now()
    with transaction.atomic(using="analytics"):
        # The prompt this answers: the person's latest within the wait, if still open.
        row = _recent(asker.agency_id, asker.identity.user_id, now).select_for_update().first()
        if row is not None and row.outcome != NpsResponse.ASKED:
            raise NpsRefused(409, "already_answered", "You already answered recently. Thank you!")
        if row is None:  # answered without being asked first (an old tab): the prompt is now
            row = NpsResponse(agency_id=asker.agency_id, user_ghl_id=asker.identity.user_id, at=now)
        row.location_ghl_id = asker.location_ghl_id
        row.user_name = asker.identity.user_name[:200]
        row.outcome = NpsResponse.DISMISSED if dismissed else NpsResponse.ANSWERED
        row.rating = None if dismissed else request.rating
        row.comment = "" if dismissed else request.comment
        row.day, row.answered_at = today, now
        row.save()
    if not dismissed:
        transaction.on_commit(
            lambda: refresh_analytics_for_days.delay(
                asker.agency_id, today.isoformat(), today.isoformat()
            ),
            using="analytics",
        )
    return row
