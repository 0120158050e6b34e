"""Activity beacons from the Custom JS tracker: validate one beacon and count it.

A beacon is `{"payload", "location_id", "feature", "event", "v"}` and nothing else. The payload is
GHL's encrypted user payload (the same one SSO decrypts); it is decrypted in memory, never stored or
logged, and every way it can fail gets the same 403. A valid beacon only increments counters
(sync.activity_store); nothing granular is kept.

Agency staff: a payload whose `type` is "agency" is an agency-level user viewing a
sub-account, so its activity is stored with `is_agency_staff=True` and counted apart from the
sub-account's own users (`type` "location"). A payload without `type` falls back to our synced
user list: a known agency-level user (role owner/admin/user) is staff, anyone else is not.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from accounts.models import Agency, GHLUser, Location
from accounts.sso import InvalidSSOPayload, decrypt_with_rotation
from analytics.models import FEATURE_ALIASES, FEATURES
from gocsm import safejson
from sync.activity_store import Limits, Tick, counter_store

PROTOCOL_VERSIONS = frozenset({1})
EVENTS = frozenset({"load", "route", "heartbeat"})
_FIELDS = frozenset({"payload", "location_id", "feature", "event", "v"})
_GHL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_AGENCY_LEVEL_ROLES = (GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN, GHLUser.ROLE_USER)


class BeaconRejected(Exception):
    """The beacon is refused. `status` is the HTTP answer; `reason` a code for logs and stats."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Beacon:
    payload: str
    location_ghl_id: str
    feature: str
    event: str


def parse_beacon(body: bytes) -> Beacon:
    """The beacon's fields, or BeaconRejected(400/413). Checks shape only; nothing is decrypted."""
    if len(body) > settings.ACTIVITY_MAX_BODY_BYTES:
        raise BeaconRejected(413, "too_large")
    try:
        data = safejson.loads(body)
    except safejson.InvalidJSON:
        raise BeaconRejected(400, "bad_json") from None
    if not isinstance(data, dict):
        raise BeaconRejected(400, "not_object")
    if set(data) != _FIELDS:
        # The tracker sends exactly these fields; anything else is not our tracker.
        raise BeaconRejected(400, "bad_fields")
    version, payload = data["v"], data["payload"]
    location, feature, event = data["location_id"], data["feature"], data["event"]
    if isinstance(version, bool) or version not in PROTOCOL_VERSIONS:
        raise BeaconRejected(400, "bad_version")
    if not isinstance(payload, str) or not payload:
        raise BeaconRejected(400, "bad_payload_field")
    if not isinstance(location, str) or not _GHL_ID.match(location):
        raise BeaconRejected(400, "bad_location")
    if not isinstance(feature, str):
        raise BeaconRejected(400, "bad_feature")
    feature = FEATURE_ALIASES.get(feature, feature)
    if feature not in FEATURES:
        raise BeaconRejected(400, "bad_feature")
    if event not in EVENTS:
        raise BeaconRejected(400, "bad_event")
    return Beacon(payload=payload, location_ghl_id=location, feature=feature, event=event)


# --- lookups, remembered briefly per process -------------------------------------------------
# A beacon arrives every minute from every open GHL tab; these answers change rarely (install,
# uninstall, a new sub-account). Saves in this process clear the memo at once; other processes
# see a change within ACTIVITY_LOOKUP_CACHE_SECONDS.
_memo: dict[tuple, tuple[float, object]] = {}
_memo_lock = threading.Lock()
_MEMO_MAX = 50_000


def _remembered(key: tuple, compute):
    ttl = settings.ACTIVITY_LOOKUP_CACHE_SECONDS
    now = time.monotonic()
    hit = _memo.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if ttl > 0:
        with _memo_lock:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[key] = (now + ttl, value)
    return value


def forget_lookups(**_kwargs) -> None:
    with _memo_lock:
        _memo.clear()


for _model in (Agency, Location, GHLUser):
    post_save.connect(
        forget_lookups, sender=_model, dispatch_uid=f"activity-memo-{_model.__name__}"
    )
    post_delete.connect(
        forget_lookups, sender=_model, dispatch_uid=f"activity-memo-del-{_model.__name__}"
    )


@dataclass(frozen=True, slots=True)
class _AgencyRef:
    id: int
    tz: ZoneInfo


def _installed_agency(company_id: str) -> _AgencyRef | None:
    def compute():
        row = (
            Agency.objects.installed()
            .filter(company_id=company_id)
            .values_list("pk", "timezone")
            .first()
        )
        if row is None:
            return None
        try:
            tz = ZoneInfo(row[1] or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("UTC")
        return _AgencyRef(id=row[0], tz=tz)

    return _remembered(("agency", company_id), compute)


def _location_in_agency(agency_id: int, location_ghl_id: str) -> bool:
    return _remembered(
        ("location", agency_id, location_ghl_id),
        lambda: Location.objects.for_agency(agency_id).filter(ghl_id=location_ghl_id).exists(),
    )


def _is_agency_staff(agency_id: int, payload_type: str, user_ghl_id: str) -> bool:
    if payload_type:
        return payload_type == "agency"
    return _remembered(
        ("staff", agency_id, user_ghl_id),
        lambda: (
            GHLUser.objects.for_agency(agency_id)
            .filter(ghl_id=user_ghl_id, deleted=False, role__in=_AGENCY_LEVEL_ROLES)
            .exists()
        ),
    )


def count_beacon(beacon: Beacon) -> bool:
    """Authenticate the beacon by its payload and count it.

    Returns True when counted, False when the user's rate cap refused it (nothing counted).
    Raises BeaconRejected(403) for any payload, agency or sub-account failure (one generic answer),
    CounterStoreUnavailable when Redis is down, and DatabaseError when the database is.
    """
    try:
        identity = decrypt_with_rotation(
            beacon.payload,
            [settings.GHL_SSO_SHARED_SECRET, settings.GHL_SSO_SHARED_SECRET_PREVIOUS],
        )
    except InvalidSSOPayload as exc:
        raise BeaconRejected(403, f"payload_{exc.reason}") from None
    agency = _installed_agency(identity.company_id)
    if agency is None:
        raise BeaconRejected(403, "unknown_agency")
    if not _location_in_agency(agency.id, beacon.location_ghl_id):
        raise BeaconRejected(403, "foreign_location")
    now = time.time()
    tick = Tick(
        agency_id=agency.id,
        day=datetime.fromtimestamp(now, agency.tz).date().isoformat(),
        location_ghl_id=beacon.location_ghl_id,
        user_ghl_id=identity.user_id,
        feature=beacon.feature,
        is_agency_staff=_is_agency_staff(agency.id, identity.type, identity.user_id),
        now_ms=int(now * 1000),
    )
    return counter_store().record(tick, Limits.from_settings()) > 0


def allowed_origin(origin: str) -> bool:
    """GHL's app origins and installed agencies' white-label domains may read our answers (CORS).

    Not an access check: the payload authenticates a beacon, whatever page sent it.
    """
    if not origin:
        return False
    if origin in settings.GHL_FRAME_ORIGINS:
        return True

    def compute():
        domains = (
            Agency.objects.installed()
            .exclude(whitelabel_domain="")
            .values_list("whitelabel_domain", flat=True)
        )
        return frozenset(f"https://{d.strip().lower()}" for d in domains)

    return origin.lower() in _remembered(("origins",), compute)
