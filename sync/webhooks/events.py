"""Parse a verified webhook body into a small, whitelisted event dict (what Celery carries).

GHL signs every marketplace app's webhooks with the same key, so a valid signature proves only
that GHL sent it: the body's appId must be ours. Payloads also carry emails and phones that we
never keep; only the fields named below leave this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from gocsm import displaytext, safejson

HANDLED = {"INSTALL", "UNINSTALL", "LocationCreate", "LocationUpdate", "UserCreate", "PLAN_CHANGE"}
# Events about our app itself: without our appId they could be another app's (uninstalling us).
APP_SCOPED = {"INSTALL", "UNINSTALL", "PLAN_CHANGE"}


class Malformed(Exception):
    """Signed by GHL but unusable: 400, nothing written."""


class Refused(Exception):
    """Not for us, or too old: 401, nothing written."""


def _str(data: dict, key: str, limit: int = 64) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{key} must be a string")
    # Control characters (a NUL cannot even be stored) go; so the task cannot fail on them.
    return displaytext.clean(value, limit)


def _when(value) -> datetime:
    if not isinstance(value, str) or not value:
        raise Malformed("timestamp missing")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("timestamp unreadable") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse(body: bytes, *, now: datetime | None = None) -> dict:
    try:
        data = safejson.loads(body)
    except safejson.InvalidJSON as exc:
        raise Malformed(str(exc)) from None
    if not isinstance(data, dict):
        raise Malformed("not an object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise Malformed("type missing")
    app_id = data.get("appId")
    if app_id is not None and (not isinstance(app_id, str) or app_id != settings.GHL_APP_ID):
        raise Refused("appId is not ours")
    if app_id is None and kind in APP_SCOPED:
        raise Refused("appId missing on an app event")
    if kind not in HANDLED:
        return {"type": kind, "ignored": True}
    webhook_id = _str(data, "webhookId", 128)
    if not webhook_id:
        raise Malformed("webhookId missing")
    moment = _when(data.get("timestamp"))
    now = now or datetime.now(UTC)
    if abs((now - moment).total_seconds()) > settings.GHL_WEBHOOK_TOLERANCE_SECONDS:
        raise Refused("stale timestamp")
    event = {
        "type": kind,
        "webhook_id": webhook_id,
        "company_id": _str(data, "companyId"),
        "location_id": _str(data, "locationId"),
    }
    event.update(_BUILDERS[kind](data, event))
    return event


def _install(data: dict, event: dict) -> dict:
    if not event["company_id"] and not event["location_id"]:
        raise Malformed("INSTALL names no company or location")
    details = data.get("whitelabelDetails")
    domain = details.get("domain") if isinstance(details, dict) else None
    from sync.ghl.records import host_of

    return {
        "company_name": _str(data, "companyName", 200),
        "whitelabel_domain": host_of(domain) if isinstance(domain, str) else "",
        "plan_id": _str(data, "planId"),
        "user_id": _str(data, "userId"),
    }


def _uninstall(data: dict, event: dict) -> dict:
    if not event["company_id"] and not event["location_id"]:
        raise Malformed("UNINSTALL names no company or location")
    return {}


def _location(data: dict, event: dict) -> dict:
    location_id = _str(data, "id")
    if not location_id or not event["company_id"]:
        raise Malformed("location event without id or companyId")
    return {
        "location_id": location_id,
        "name": _str(data, "name", 200),
        "city": _str(data, "city", 120),
        "state": _str(data, "state", 120),
        "country": _str(data, "country", 8),
        "timezone": _str(data, "timezone", 64),
    }


def _user(data: dict, event: dict) -> dict:
    user_id = _str(data, "id")
    if not user_id or not (event["company_id"] or event["location_id"]):
        raise Malformed("user event without id, companyId or locationId")
    locations = data.get("locations")
    if locations is not None and not (
        isinstance(locations, list) and all(isinstance(i, str) for i in locations)
    ):
        raise Malformed("locations must be a list of ids")
    role = _str(data, "role", 16)
    if role not in ("", "admin", "user"):
        raise Malformed("unknown role")
    name = f"{_str(data, 'firstName', 100)} {_str(data, 'lastName', 100)}".strip()
    return {
        "user_id": user_id,
        "name": name or _str(data, "name", 200),
        "email": _str(data, "email", 254),
        "role": role or "user",
        "location_ids": [i[:64] for i in (locations or [])][:5000],
    }


def _plan_change(data: dict, event: dict) -> dict:
    if not event["company_id"] and not event["location_id"]:
        raise Malformed("PLAN_CHANGE names no company or location")
    return {"current_plan_id": _str(data, "currentPlanId"), "new_plan_id": _str(data, "newPlanId")}


_BUILDERS = {
    "INSTALL": _install,
    "UNINSTALL": _uninstall,
    "LocationCreate": _location,
    "LocationUpdate": _location,
    "UserCreate": _user,
    "PLAN_CHANGE": _plan_change,
}
