"""What every dashboard view shares: parameter whitelists, the CSV switch, role checks, the
billing seam and the navigation. The CSV files themselves: analytics.views.csvexport."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.paginator import EmptyPage, Paginator
from django.urls import reverse

from accounts import lookups
from accounts.visibility import sole_location
from analytics.risk import FLAG_LABELS
from analytics.segments import SCOPE_PARAMS, SEGMENTS, BadNarrowing
from billing.gating import access_for_request
from gocsm import product_events
from gocsm.errors import error_response

PAGE_SIZE = 25
MAX_QUERY = 100


BULK_ACTIONS = {
    "tag_add": "Add tag",
    "tag_remove": "Remove tag",
    "csm_assign": "Assign CSM",
    "csm_clear": "Remove CSM",
    "nps_on": "Switch NPS prompt on",
    "nps_off": "Switch NPS prompt off",
}


class BadParam(ValueError):
    """A query parameter outside its whitelist: the view answers 400."""


class NotInPlan(Exception):
    """The agency's plan does not include this (e.g. CSV export): the view answers 402."""


def _url_name(request) -> str:
    return getattr(getattr(request, "resolver_match", None), "view_name", "") or ""


def choice(request, name: str, allowed, default: str) -> str:
    value = request.GET.get(name, default)
    if value not in allowed:
        raise BadParam(name)
    if name in request.GET and value != default and name != "format":
        # Product analytics: which filters people use (the whitelist drops unknown values).
        product_events.capture(
            request,
            product_events.DASHBOARD_FILTER_USED,
            {"url_name": _url_name(request), "filter": name, "value": value.lstrip("-")},
        )
    return value


def page_number(request) -> int:
    raw = request.GET.get("page", "1")
    # Length first: int() of thousands of digits raises ValueError (a 500, not a 400).
    if len(raw) > 6 or not raw.isdigit() or not 1 <= int(raw) <= 100000:
        raise BadParam("page")
    return int(raw)


def search_text(request) -> str:
    q = request.GET.get("q", "").strip()
    if len(q) > MAX_QUERY or any(ord(ch) < 32 for ch in q):
        raise BadParam("q")
    return q


def paginate(rows: list, request):
    paginator = Paginator(rows, PAGE_SIZE)
    try:
        return paginator.page(page_number(request))
    except EmptyPage as exc:
        raise BadParam("page") from exc


def handles_bad_params(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (BadParam, BadNarrowing):
            return error_response(request, 400, "That filter, sort or page is not valid.")
        except NotInPlan:
            return error_response(request, 402, "CSV export is not included in your GoCSM plan.")

    return wrapper


# NPS answers are given to the agency: a sub-account's own people see that one of them answered
# as a detractor, never who did or with what rating (the feedback page is closed to them too).
UNNAMED_DETRACTOR = "A user of this sub-account answered the NPS prompt with 0-6 within 90 days"


def is_client(request) -> bool:
    """The person is one of a sub-account's own users, not the agency's."""
    return request.ghl_user.role == request.ghl_user.ROLE_LOCATION


def flags_for_viewer(request, flags):
    """(code, evidence) pairs as this person may read them (UNNAMED_DETRACTOR for clients)."""
    if not is_client(request):
        return flags
    return [(c, UNNAMED_DETRACTOR if c == "nps_detractor" else e) for c, e in flags]


def alerts_for_viewer(request, alerts):
    """Alerts as this person may read them: a detractor alert unnamed for clients."""
    if is_client(request):
        for a in alerts:
            if a.code == "nps_detractor":
                a.message = f"{FLAG_LABELS['nps_detractor']}: {UNNAMED_DETRACTOR}"
    return alerts


def agency_staff(view):
    """The agency's own people only: a sub-account's users get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_client(request):
            return error_response(request, 403)
        return view(request, *args, **kwargs)

    return wrapper


def owner_or_admin(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.ghl_user.is_owner_or_admin:
            return error_response(request, 403)
        return view(request, *args, **kwargs)

    return wrapper


def wants_csv(request) -> bool:
    """True when the CSV export of the page was asked for and the plan includes it."""
    if choice(request, "format", ("html", "csv"), "html") != "csv":
        return False
    access = access_for_request(request)
    if access is not None and not access.features.csv_export:
        raise NotInPlan
    url_name = _url_name(request)
    product_events.capture(
        request,
        product_events.EXPORT_DOWNLOADED,
        {
            "url_name": url_name,
            "export": url_name.rsplit(":", 1)[-1].replace("-", "_"),
            "format": "csv",
        },
    )
    return True


def read_only(request) -> bool:
    """True when the agency's billing allows reading history only (billing.gating decides)."""
    access = access_for_request(request)
    return bool(access and access.read_only)


# (URL name, label, owner/admin only); the segments page is for agency staff only. Feature
# apps add theirs with register_nav_item().
NAV = [
    ("analytics:overview", "Overview", False),
    ("analytics:at-risk", "At risk", False),
    ("analytics:adoption", "Adoption", False),
    ("analytics:logins", "Logins", False),
    ("analytics:revenue", "Revenue", False),
    ("analytics:segments", "Segments", False),
    ("analytics:churn", "Churn prediction", False),
    ("analytics:feedback", "Feedback", False),
    ("analytics:settings", "Settings", True),
    ("billing:index", "Billing", True),
    ("accounts:security", "Security", True),
]


def register_nav_item(
    url_name: str, label: str, admin_only: bool, *, before: str, staff_only: bool = False
) -> None:
    """A feature app adds its pages to the navigation from its AppConfig.ready(), in front of
    the item named `before` (analytics never imports the apps above it). `staff_only`: hidden
    from a sub-account's own people, like STAFF_ONLY's pages."""
    if staff_only:
        _STAFF_ONLY_ADDED.add(url_name)
    if any(name == url_name for name, _l, _a in NAV):
        return
    names = [name for name, _l, _a in NAV]
    NAV.insert(names.index(before) if before in names else len(NAV), (url_name, label, admin_only))


# Pages for the agency's staff, not a sub-account's own people (the agency's tags and CSMs).
# Pages for the agency's own people only: its clients' staff (GHL sub-account users) never see
# the agency's internal labels, its clients' feedback about it, or its churn model.
STAFF_ONLY = frozenset({"analytics:segments", "analytics:feedback", "analytics:churn"})
_STAFF_ONLY_ADDED: set[str] = set()
# The pages a segment, tag or book narrows.
NARROWED_PAGES = frozenset(
    {
        "analytics:overview",
        "analytics:at-risk",
        "analytics:adoption",
        "analytics:logins",
        "analytics:revenue",
        "analytics:feedback",
    }
)

_NAV_URLS: dict[str, str] = {}


def _nav_url(name: str) -> str:
    # The navigation's URLs never change while the process runs: reverse each once.
    url = _NAV_URLS.get(name)
    if url is None:
        url = _NAV_URLS[name] = reverse(name)
    return url


def nav_items(request) -> dict:
    """Context processor: the main navigation for the signed-in user."""
    user = getattr(request, "ghl_user", None)
    if user is None:
        return {"nav_items": []}
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    # The portfolio pages keep what the page is narrowed to (segment, tag, book).
    keep = urlencode([(k, request.GET[k]) for k in SCOPE_PARAMS if request.GET.get(k)])
    # A sub-account's own person with one sub-account: "Overview" is its page (the overview
    # redirects there, accounts.visibility.sole_location).
    sole = sole_location(request) if user.role == user.ROLE_LOCATION else None
    items = []
    for name, label, admin_only in NAV:
        if admin_only and not user.is_owner_or_admin:
            continue
        if (name in STAFF_ONLY or name in _STAFF_ONLY_ADDED) and user.role == user.ROLE_LOCATION:
            continue
        url = _nav_url(name)
        active = current == name
        if sole is not None and name == "analytics:overview":
            url = reverse("analytics:location-detail", args=[sole])
            active = current == "analytics:location-detail"
        elif keep and name in NARROWED_PAGES:
            url = f"{url}?{keep}"
        items.append({"url": url, "label": label, "active": active})
    return {"nav_items": items, "read_only": read_only(request), "sole_location": sole}


class ScopeBar:
    """What the filter bar and the bulk form offer, read only when a page's template shows them
    (a CSV export reads none of it): the agency's tags, books and CSMs come from
    accounts.lookups, asked once per request."""

    segments = list(SEGMENTS.items())
    params = SCOPE_PARAMS
    actions = list(BULK_ACTIONS.items())

    def __init__(self, narrowing, request):
        self.narrowing = narrowing
        self.request = request

    @property
    def tags(self) -> tuple[tuple[int, str], ...]:
        return lookups.for_request(self.request).tags

    @property
    def books(self) -> tuple[tuple[str, str], ...]:
        """(GHL user id, name) of everyone with a book."""
        return lookups.for_request(self.request).books

    @property
    def csm_choices(self) -> tuple[tuple[str, str], ...]:
        """Everyone who can be assigned as a CSM (the bulk form's choices)."""
        return lookups.for_request(self.request).csm_choices

    @property
    def selected_book(self) -> str:
        return self.narrowing.book or "all"
