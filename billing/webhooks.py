"""The Stripe webhook receiver: verify, check the version, then apply each event exactly once.

Order matters and is the point of this module:
1. the signature is checked on the raw body before anything is parsed;
2. events rendered with another API version are refused (their fields may sit elsewhere);
3. types we do not handle are acknowledged and dropped;
4. the event id is inserted into a unique column in the same transaction as its effect, so a
   replay changes nothing and a crash can never leave one without the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from billing import handlers, stripe_api
from billing.handlers import StripeEventData, from_unix
from billing.models import StripeEvent

log = logging.getLogger(__name__)


class RejectedEvent(Exception):
    """The request is not an event we accept; answer 400 and change nothing."""


@dataclass(frozen=True)
class Result:
    outcome: str  # applied | duplicate | ignored | unknown_customer | stale | ...
    event_id: str


def read_event(payload: bytes, signature_header: str | None) -> StripeEventData:
    """Verify and validate one webhook body. Raises RejectedEvent with a short reason."""
    try:
        raw = stripe_api.verify_and_parse_event(payload, signature_header)
    except stripe_api.InvalidSignature as exc:
        raise RejectedEvent("signature") from exc
    except stripe_api.MalformedEvent as exc:
        raise RejectedEvent("malformed") from exc
    if raw.get("api_version") != settings.STRIPE_API_VERSION:
        raise RejectedEvent("api_version")
    event_id, event_type, created = raw.get("id"), raw.get("type"), from_unix(raw.get("created"))
    obj = (raw.get("data") or {}).get("object") if isinstance(raw.get("data"), dict) else None
    if (
        raw.get("object") != "event"
        or not isinstance(event_id, str)
        or not event_id
        or len(event_id) > 255
        or not isinstance(event_type, str)
        or created is None
        or not isinstance(obj, dict)
    ):
        raise RejectedEvent("malformed")
    return StripeEventData(id=event_id, type=event_type, created=created, obj=obj)


class _AlreadyProcessed(Exception):
    pass


def process(event: StripeEventData) -> Result:
    """Apply a verified event once. Unknown customers and unhandled types change nothing."""
    if event.type not in handlers.HANDLED_TYPES:
        return Result("ignored", event.id)
    try:
        with transaction.atomic():
            account = handlers.find_account(event)
            if account is None:
                log.info("stripe event %s (%s) for an unknown customer", event.id, event.type)
                return Result("unknown_customer", event.id)
            try:
                with transaction.atomic():
                    StripeEvent.objects.create(
                        event_id=event.id,
                        type=event.type,
                        created=event.created,
                        agency_id=account.agency_id,
                    )
            except IntegrityError:
                raise _AlreadyProcessed from None
            outcome = handlers.apply(event, account)
            StripeEvent.objects.filter(event_id=event.id).update(outcome=outcome)
    except _AlreadyProcessed:
        log.info("stripe event %s already processed", event.id)
        return Result("duplicate", event.id)
    log.info("stripe event %s (%s): %s", event.id, event.type, outcome)
    return Result(outcome, event.id)
