"""What every dashboard view shares: parameter whitelists, CSV export, role checks, the
billing seam and the navigation."""

from __future__ import annotations

import csv
from functools import wraps

from django.core.paginator import EmptyPage, Paginator
from django.http import HttpResponse
from django.urls import reverse

from gocsm.errors import error_response

PAGE_SIZE = 25
MAX_QUERY = 100
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BadParam(ValueError):
    """A query parameter outside its whitelist: the view answers 400."""


def choice(request, name: str, allowed, default: str) -> str:
    value = request.GET.get(name, default)
    if value not in allowed:
        raise BadParam(name)
    return value


def page_number(request) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100000:
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
        except BadParam:
            return error_response(request, 400, "That filter, sort or page is not valid.")

    return wrapper


def owner_or_admin(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.ghl_user.is_owner_or_admin:
            return error_response(request, 403)
        return view(request, *args, **kwargs)

    return wrapper


def safe_cell(value) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ tab or CR gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return response


def wants_csv(request) -> bool:
    return choice(request, "format", ("html", "csv"), "html") == "csv"


def read_only(request) -> bool:
    """Billing seam: True when the agency's plan allows reading only. The lead wires this to
    billing.gating.access_for(agency); until then every agency has full access."""
    return False


NAV = (
    ("analytics:overview", "Overview", False),
    ("analytics:at-risk", "At risk", False),
    ("analytics:adoption", "Adoption", False),
    ("analytics:logins", "Logins", False),
    ("analytics:revenue", "Revenue", False),
    ("analytics:settings", "Settings", True),
)


def nav_items(request) -> dict:
    """Context processor: the main navigation for the signed-in user."""
    user = getattr(request, "ghl_user", None)
    if user is None:
        return {"nav_items": []}
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    items = []
    for name, label, admin_only in NAV:
        if admin_only and not user.is_owner_or_admin:
            continue
        items.append({"url": reverse(name), "label": label, "active": current == name})
    return {"nav_items": items, "read_only": read_only(request)}
