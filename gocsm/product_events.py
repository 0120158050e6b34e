"""Product analytics: how people use GoCSM itself, sent to PostHog. The only module importing
`posthog`.

Privacy is enforced by one whitelist (EVENTS, PROPERTY_RULES, PERSON_PROPERTIES): an event not
listed is dropped, a property not listed for its event is dropped, and a value that does not look
like an identifier we produce ourselves (a URL name, a filter key, "csv") is dropped. The same
whitelist runs again as PostHog's `before_send` hook on the final message, after the library has
added its own properties, so nothing outside it can leave even if a caller or the library adds
more. Sub-account names, emails, phone numbers and any end-customer value therefore never leave.

Identity: distinct_id = the GHL user id, group "agency" = our agency id, person properties only
role and agency name.

Delivery: off when POSTHOG_API_KEY is unset. Otherwise events go onto the library's in-memory
queue and its background consumer thread sends them in gzip batches; a request never waits for
PostHog, and PostHog being down only costs the queued events.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import posthog
from django.conf import settings

log = logging.getLogger(__name__)

PAGE_VIEWED = "page_viewed"
DASHBOARD_FILTER_USED = "dashboard_filter_used"
EXPORT_DOWNLOADED = "export_downloaded"
SETTINGS_CHANGED = "settings_changed"
SSO_SIGNED_IN = "sso_signed_in"

# Event name -> the property keys it may carry.
EVENTS: dict[str, frozenset[str]] = {
    PAGE_VIEWED: frozenset({"url_name"}),
    DASHBOARD_FILTER_USED: frozenset({"url_name", "filter", "value"}),
    EXPORT_DOWNLOADED: frozenset({"url_name", "export", "format", "rows"}),
    SETTINGS_CHANGED: frozenset({"url_name", "setting"}),
    SSO_SIGNED_IN: frozenset({"first_sign_in"}),
}

_IDENT = re.compile(r"[a-z][a-z0-9_]{0,47}")
_URL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,47}(:[a-z][a-z0-9_-]{0,47}){0,3}")
# Filter values are a closed vocabulary of our own choices: a free-text value (a search box, a
# sub-account picker) could carry a name, an email or a record id, so anything else is dropped.
# Extend this set when a dashboard gains a new filter option.
FILTER_VALUES = frozenset(
    {
        *("7d", "14d", "30d", "60d", "90d", "6m", "12m", "ytd", "all", "custom"),
        *("day", "week", "month", "quarter", "year"),
        *("at_risk", "watch", "healthy", "churned", "active", "inactive", "new", "none"),
        *("score", "mrr", "logins", "last_seen", "adoption", "name", "asc", "desc"),
        *("agency", "location", "user", "owner", "admin", "true", "false"),
        # Health bands and risk flags of the analytics dashboards.
        *("thriving", "steady", "at_risk", "change", "last_activity", "top_reason"),
        *("no_login_7", "no_login_14", "no_login_30", "usage_down", "payment_failed"),
        *("downgraded", "band_dropped", "onboarding_stalled"),
        # Segments and books a page is narrowed to (analytics.segments); a tag is just True.
        *("saas", "regular", "premium", "onboarding", "not_connected", "mine", "csm"),
    }
)


def _matches(pattern: re.Pattern) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None


def _small_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10_000_000


PROPERTY_RULES: dict[str, Callable[[Any], bool]] = {
    "url_name": _matches(_URL_NAME),
    "filter": _matches(_IDENT),
    "value": lambda v: (
        (isinstance(v, str) and v in FILTER_VALUES)
        or isinstance(v, bool)
        or (_small_int(v) and v < 10_000)
    ),
    "export": _matches(_IDENT),
    "format": lambda v: isinstance(v, str) and v in ("csv", "xlsx", "json", "pdf"),
    "rows": _small_int,
    "setting": _matches(_IDENT),
    "first_sign_in": lambda v: isinstance(v, bool),
}
PERSON_PROPERTIES = frozenset({"role", "agency_name"})
ROLES = frozenset({"owner", "admin", "user", "location"})
# What the library itself adds to each event and we accept (no host, OS or runtime details).
LIBRARY_PROPERTIES = frozenset(
    {"$lib", "$lib_version", "$geoip_disable", "$is_server", "$process_person_profile"}
)
_ALIASES = {"$pageview": PAGE_VIEWED, "pageview": PAGE_VIEWED, "page_view": PAGE_VIEWED}


def canonical_event(name: str) -> str | None:
    """Whitelisted name for `name` ("page viewed", "Page-Viewed" -> "page_viewed"), or None."""
    if not isinstance(name, str):
        return None
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    key = _ALIASES.get(key, key)
    return key if key in EVENTS else None


def clean_properties(event: str, properties: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the whitelisted keys of `event` whose values pass their rule."""
    allowed = EVENTS.get(event, frozenset())
    clean = {}
    for key, value in (properties or {}).items():
        if key in allowed and PROPERTY_RULES[key](value):
            clean[key] = value
    return clean


def clean_person(props: Any) -> dict[str, str]:
    if not isinstance(props, Mapping):
        return {}
    person: dict[str, str] = {}
    if props.get("role") in ROLES:
        person["role"] = props["role"]
    name = props.get("agency_name")
    if isinstance(name, str) and name:
        person["agency_name"] = name[:200]
    return person


def final_gate(msg: dict) -> dict | None:
    """PostHog before_send hook: the last check on the exact message about to be queued."""
    event = msg.get("event")
    if event not in EVENTS:
        return None
    props = msg.get("properties") or {}
    safe = clean_properties(event, props)
    safe.update({k: v for k, v in props.items() if k in LIBRARY_PROPERTIES})
    person = clean_person(props.get("$set"))
    if person:
        safe["$set"] = person
    groups = props.get("$groups")
    if isinstance(groups, Mapping) and str(groups.get("agency", "")).isdigit():
        safe["$groups"] = {"agency": str(groups["agency"])}
    msg["properties"] = safe
    for extra in set(msg) - {"event", "distinct_id", "properties", "timestamp", "uuid", "type"}:
        msg.pop(extra, None)
    return msg


_lock = threading.Lock()
_client: posthog.Posthog | None = None
_client_config: tuple | None = None


def _on_error(error: Exception, batch: list) -> None:
    # Runs on the consumer thread; never log the batch itself.
    log.warning("posthog upload failed (%s), %d events dropped", type(error).__name__, len(batch))


def client() -> posthog.Posthog | None:
    """The shared PostHog client for the current settings, or None when analytics is off."""
    global _client, _client_config
    key = settings.POSTHOG_API_KEY
    if not key:
        return None
    config = (
        key,
        settings.POSTHOG_HOST,
        settings.POSTHOG_FLUSH_AT,
        settings.POSTHOG_FLUSH_INTERVAL_SECONDS,
        settings.POSTHOG_TIMEOUT_SECONDS,
        settings.POSTHOG_MAX_RETRIES,
    )
    with _lock:
        if _client is None or _client_config != config:
            _client = posthog.Posthog(
                key,
                host=settings.POSTHOG_HOST,
                flush_at=settings.POSTHOG_FLUSH_AT,
                flush_interval=settings.POSTHOG_FLUSH_INTERVAL_SECONDS,
                timeout=settings.POSTHOG_TIMEOUT_SECONDS,
                max_retries=settings.POSTHOG_MAX_RETRIES,
                gzip=True,
                sync_mode=False,
                disable_geoip=True,
                capture_mode="v0",
                before_send=final_gate,
                on_error=_on_error,
                enable_exception_autocapture=False,
            )
            _client_config = config
        return _client


def flush(timeout_seconds: float = 5.0) -> None:
    """Send what is queued now (tests, management commands). Never call it in a request."""
    current = _client
    if current is not None:
        current.flush(timeout_seconds)


def _identity(request_or_user) -> tuple[Any, Any] | None:
    user = getattr(request_or_user, "ghl_user", request_or_user)
    agency = getattr(request_or_user, "agency", None)
    if user is None or not getattr(user, "ghl_id", None):
        return None
    if agency is None:
        agency = getattr(user, "agency", None)
    if agency is None or agency.pk is None:
        return None
    return user, agency


def capture(request_or_user, event: str, properties: Mapping[str, Any] | None = None) -> bool:
    """Queue one product event for the signed-in GHL user (a request) or a GHLUser.

    Returns whether it was queued. Never raises and never waits on the network: analytics must
    not break or slow the app.
    """
    try:
        name = canonical_event(event)
        if name is None:
            log.debug("product event %r is not whitelisted; dropped", event)
            return False
        ph = client()
        identity = _identity(request_or_user)
        if ph is None or identity is None:
            return False
        user, agency = identity
        props = clean_properties(name, properties)
        props["$set"] = clean_person({"role": user.role, "agency_name": agency.name})
        return (
            ph.capture(
                name,
                distinct_id=str(user.ghl_id),
                properties=props,
                groups={"agency": str(agency.pk)},
            )
            is not None
        )
    except Exception:
        log.warning("product event %r could not be queued", event, exc_info=True)
        return False
