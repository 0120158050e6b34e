"""The GHL API client (GHL_API.md §1, §5-7).

    client = GHLClient(tokens)            # tokens: sync.credentials.AgencyTokens(agency) or any
    for loc in client.iter_locations():   #   object with the TokenSource methods below
        ...
    client.requests_made                  # for SyncRun

Every call: the `Version` header of its service, explicit connect/read timeouts, a slot from the
shared rate limiter (per app and resource) before sending, retries with full-jitter exponential
backoff on 429/5xx/connection errors/unreadable bodies honouring Retry-After and X-RateLimit-*,
one token refresh on 401, and a deadline that bounds the whole call. Answers come back as records
(records.py), which drop end-customer fields.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import requests
from django.conf import settings
from urllib3.exceptions import ReadTimeoutError

from sync.ghl import records as r
from sync.ghl.errors import (
    AuthRevoked,
    BadResponse,
    GHLTimeout,
    GHLUnavailable,
    NotFound,
    NotPermitted,
    PaginationStalled,
    RateLimited,
    ResponseTooLarge,
)
from sync.ghl.ratelimit import RateLimiter, default_limiter
from sync.ghl.session import http_session, read_body
from sync.ghl.signals import ghl_event

logger = logging.getLogger(__name__)

# GHL_API.md §1: the Version header each service expects.
V_2021_07_28 = "2021-07-28"  # oauth, locations, users, workflows, companies, products
V_2021_04_15 = "2021-04-15"  # calendars, conversations, saas
COMPANY = "company"  # the `auth` of a call made with the agency token
MAX_PAGES = 10_000  # a backstop only: a page that makes no progress stops the listing at once


class TokenSource(Protocol):
    company_id: str

    def company_token(self) -> str: ...

    def refresh_company_token(self, rejected: str) -> str: ...

    def location_token(self, location_id: str, client: GHLClient) -> str: ...

    def drop_location_token(self, location_id: str, rejected: str) -> None: ...


def app_id() -> str:
    return settings.GHL_APP_ID or settings.GHL_CLIENT_ID.split("-", 1)[0]


class GHLClient:
    def __init__(
        self,
        tokens: TokenSource,
        *,
        limiter: RateLimiter | None = None,
        sleep=time.sleep,
        base_url: str | None = None,
    ):
        self.tokens = tokens
        self.limiter = limiter or default_limiter()
        self.limiter.sleep = sleep
        self.sleep = sleep
        self.base_url = (base_url or settings.GHL_API_BASE_URL).rstrip("/")
        self.requests_made = 0
        self.retries = 0
        self.rate_limited = 0

    # --- the one request path ----------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        version: str,
        auth: str = COMPANY,
        params: dict | None = None,
        data: dict | None = None,
    ) -> Any:
        """Send one logical call; `auth` is COMPANY or a location id (use that sub-account's
        token). Raises AuthRevoked, RateLimited, GHLUnavailable, NotFound, NotPermitted or
        BadResponse."""
        deadline = time.monotonic() + settings.GHL_CALL_DEADLINE_SECONDS
        resource = self.tokens.company_id if auth == COMPANY else auth
        timeout = (settings.GHL_CONNECT_TIMEOUT_SECONDS, settings.GHL_READ_TIMEOUT_SECONDS)
        attempt, refreshed = 0, False
        while True:
            token = self._token(auth)
            ticket = self.limiter.acquire(app_id(), resource, deadline)
            self.requests_made += 1
            failure: GHLUnavailable | RateLimited | BadResponse
            wait = None
            status: int | None = None
            try:
                resp = http_session().request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    timeout=timeout,
                    headers={"Authorization": f"Bearer {token}", "Version": version},
                    stream=True,  # the body is read under a size cap and the deadline
                )
                body = read_body(resp, path, deadline)
            except requests.RequestException as exc:
                self.limiter.release(app_id(), resource, ticket)
                self._emit("request", path, None, resource)
                failure = _network_failure(path, exc)
            except ResponseTooLarge:
                self.limiter.release(app_id(), resource, ticket)
                self._emit("request", path, resp.status_code, resource)
                raise
            except GHLTimeout as exc:
                self.limiter.release(app_id(), resource, ticket)
                self._emit("request", path, None, resource)
                failure = exc
            else:
                self.limiter.release(app_id(), resource, ticket)
                status = resp.status_code
                self._emit("request", path, status, resource)
                self.limiter.observe(app_id(), resource, resp.headers)
                if 200 <= status < 300:
                    try:
                        return json.loads(body)
                    except (ValueError, RecursionError):
                        failure = BadResponse(f"GHL {path}: unreadable body", status)
                elif status == 401:
                    if refreshed:
                        self._reject_fresh(auth, token)
                        raise AuthRevoked(f"GHL {path}: 401 with a fresh token")
                    refreshed = True
                    self._refresh(auth, token)
                    continue
                elif status == 429:
                    self.rate_limited += 1
                    self._emit("rate_limited", path, status, resource)
                    wait = self._wait_for_429(resp.headers)
                    failure = RateLimited(f"GHL {path}: 429", wait)
                    if resp.headers.get("X-RateLimit-Daily-Remaining") == "0":
                        raise failure
                    # Every worker holds off this resource, not just this one.
                    self.limiter.block(app_id(), resource, wait)
                elif status >= 500:
                    failure = GHLUnavailable(f"GHL {path}: HTTP {status}")
                elif status == 404:
                    raise NotFound(f"GHL {path}: 404", status)
                elif status == 403:
                    raise NotPermitted(f"GHL {path}: 403", status)
                else:
                    raise BadResponse(f"GHL {path}: HTTP {status}", status)
            attempt += 1
            if attempt >= settings.GHL_RETRY_MAX_ATTEMPTS:
                raise failure
            backoff = random.uniform(  # noqa: S311 - jitter, not cryptography
                0, min(settings.GHL_RETRY_CAP_SECONDS, settings.GHL_RETRY_BASE_SECONDS * 2**attempt)
            )
            delay = backoff if wait is None else 0.0  # a 429's wait is served by the limiter
            if time.monotonic() + delay + (wait or 0) > deadline:
                raise failure
            self.retries += 1
            # The metrics label retries by cause: 429, a 5xx, or None for the network.
            self._emit("retry", path, _retry_status(failure, status), resource)
            logger.info(
                "ghl retry path=%s attempt=%s reason=%s", path, attempt, type(failure).__name__
            )
            if delay:
                self.sleep(delay)

    def _token(self, auth: str) -> str:
        if auth == COMPANY:
            return self.tokens.company_token()
        return self.tokens.location_token(auth, self)

    def _refresh(self, auth: str, rejected: str) -> None:
        self._emit("refresh", "", 401, auth)
        if auth == COMPANY:
            self.tokens.refresh_company_token(rejected)
        else:
            self.tokens.drop_location_token(auth, rejected)

    def _reject_fresh(self, auth: str, token: str) -> None:
        """A 401 right after a refresh: the agency's grant is refused (re-authorisation needed).
        A location token refused twice concerns that sub-account only."""
        if auth == COMPANY and hasattr(self.tokens, "reject_fresh_token"):
            self.tokens.reject_fresh_token(token)

    @staticmethod
    def _wait_for_429(headers) -> float:
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        try:
            interval = float(headers.get("X-RateLimit-Interval-Milliseconds", 10_000)) / 1000
        except ValueError:
            interval = 10.0
        # No Retry-After (GHL does not document one): wait a slice of the window, jittered.
        return interval / 10 * (1 + random.random())  # noqa: S311

    def _emit(self, kind: str, path: str, status: int | None, resource: str) -> None:
        ghl_event.send(sender=GHLClient, kind=kind, path=path, status=status, resource=resource)

    # --- pagination styles (GHL_API.md §7) -----------------------------------------------------
    def paginate_skip(
        self,
        path: str,
        *,
        version: str,
        items_key: str,
        auth: str = COMPANY,
        params: dict | None = None,
        limit: int | None = None,
        total_key: str | None = None,
        skip_param: str = "skip",
    ) -> Iterator[dict]:
        """skip/limit (or offset/limit) pages; stops at the total, an empty or a short page.
        PaginationStalled when a page brings only items already listed (`skip` ignored)."""
        limit = limit or settings.GHL_PAGE_SIZE
        seen = 0
        progress = _Progress(path, skip_param)
        for _ in range(MAX_PAGES):
            body = self.request(
                "GET",
                path,
                version=version,
                auth=auth,
                params={**(params or {}), skip_param: str(seen), "limit": str(limit)},
            )
            items = _list(body, items_key)
            progress.check(items)
            yield from items
            seen += len(items)
            total = _total(body, total_key) if total_key else None
            if not items or (total is not None and seen >= total):
                return
            if total is None and len(items) < limit:
                return
        raise PaginationStalled(f"GHL {path}: more than {MAX_PAGES} pages")

    def paginate_cursor(
        self,
        path: str,
        *,
        version: str,
        items_key: str,
        auth: str,
        params: dict | None = None,
        limit: int | None = None,
        cursor_field: str = "lastMessageDate",
        cursor_param: str = "startAfterDate",
    ) -> Iterator[dict]:
        """Cursor pages (conversations: startAfterDate, newest first): the next page starts
        after the last item's `cursor_field`. PaginationStalled when the cursor does not move
        on or a page brings only items already listed."""
        limit = limit or settings.GHL_PAGE_SIZE
        cursor: int | None = None
        progress = _Progress(path, cursor_param)
        for _ in range(MAX_PAGES):
            query = {**(params or {}), "limit": str(limit)}
            if cursor is not None:
                query[cursor_param] = str(cursor)
            items = _list(
                self.request("GET", path, version=version, auth=auth, params=query), items_key
            )
            progress.check(items)
            yield from items
            if len(items) < limit:
                return
            last = items[-1].get(cursor_field) if isinstance(items[-1], dict) else None
            if not isinstance(last, int | float) or (cursor is not None and last >= cursor):
                raise PaginationStalled(f"GHL {path}: {cursor_param} does not advance")
            cursor = int(last)
        raise PaginationStalled(f"GHL {path}: more than {MAX_PAGES} pages")

    def paginate_page(
        self,
        path: str,
        *,
        version: str,
        items_key: str,
        auth: str = COMPANY,
        params: dict | None = None,
    ) -> Iterator[dict]:
        """page=1,2,... with a `pagination` object (SaaS). PaginationStalled when a page brings
        only items already listed (`page` ignored) or says it is a page we did not ask for."""
        progress = _Progress(path, "page")
        for page in range(1, MAX_PAGES + 1):
            body = self.request(
                "GET",
                path,
                version=version,
                auth=auth,
                params={**(params or {}), "page": str(page)},
            )
            items = _list(body, items_key)
            info = body.get("pagination") if isinstance(body, dict) else None
            answered = info.get("page") if isinstance(info, dict) else None
            if isinstance(answered, int) and not isinstance(answered, bool) and answered != page:
                raise PaginationStalled(f"GHL {path}: asked for page {page}, got {answered}")
            progress.check(items)
            yield from items
            if not items or not isinstance(info, dict) or not info.get("hasNext"):
                return
        raise PaginationStalled(f"GHL {path}: more than {MAX_PAGES} pages")

    # --- agency-level reads (agency token) -----------------------------------------------------
    @property
    def company_id(self) -> str:
        return self.tokens.company_id

    def company(self) -> r.CompanyRecord:
        """GET /companies/{companyId} (§6.8)."""
        body = self.request("GET", f"/companies/{self.company_id}", version=V_2021_07_28)
        return r.CompanyRecord.from_json(body)

    def iter_locations(self) -> Iterator[r.LocationRecord]:
        """GET /locations/search, skip/limit with no total (§6.1)."""
        for item in self.paginate_skip(
            "/locations/search",
            version=V_2021_07_28,
            items_key="locations",
            params={"companyId": self.company_id},
        ):
            yield r.LocationRecord.from_json(item)

    def get_location(self, location_id: str) -> r.LocationRecord:
        """GET /locations/{id} (§6.2); NotFound when the sub-account is gone."""
        body = self.request("GET", f"/locations/{location_id}", version=V_2021_07_28)
        return r.LocationRecord.from_json(body.get("location") if isinstance(body, dict) else None)

    def iter_installed_locations(self) -> Iterator[r.InstalledLocationRecord]:
        """GET /oauth/installedLocations, skip/limit up to `count` (§2.4)."""
        for item in self.paginate_skip(
            "/oauth/installedLocations",
            version=V_2021_07_28,
            items_key="locations",
            total_key="count",
            params={"companyId": self.company_id, "appId": app_id()},
        ):
            yield r.InstalledLocationRecord.from_json(item)

    def iter_users(self, location_id: str | None = None) -> Iterator[r.UserRecord]:
        """GET /users/search with companyId (and locationId), skip/limit up to `count` (§6.3)."""
        params = {"companyId": self.company_id}
        if location_id:
            params["locationId"] = location_id
        for item in self.paginate_skip(
            "/users/search",
            version=V_2021_07_28,
            items_key="users",
            total_key="count",
            params=params,
        ):
            yield r.UserRecord.from_json(item)

    def get_user(self, user_id: str) -> r.UserRecord:
        """GET /users/{userId}; NotFound when GHL does not know the user."""
        return r.UserRecord.from_json(
            self.request("GET", f"/users/{user_id}", version=V_2021_07_28)
        )

    def iter_saas_locations(self) -> Iterator[r.SaasLocationRecord]:
        """GET /saas/saas-locations/{companyId}, page style (§6.9)."""
        for item in self.paginate_page(
            f"/saas/saas-locations/{self.company_id}", version=V_2021_04_15, items_key="locations"
        ):
            yield r.SaasLocationRecord.from_json(item)

    def saas_subscription(self, location_id: str) -> r.SaasSubscriptionRecord:
        body = self.request(
            "GET",
            f"/saas/get-saas-subscription/{location_id}",
            version=V_2021_04_15,
            params={"companyId": self.company_id},
        )
        return r.SaasSubscriptionRecord.from_json(body)

    def agency_plans(self) -> list[r.SaasPlanRecord]:
        body = self.request("GET", f"/saas/agency-plans/{self.company_id}", version=V_2021_04_15)
        if not isinstance(body, list):
            raise BadResponse("GHL agency-plans: expected a list")
        return [r.SaasPlanRecord.from_json(item) for item in body]

    def saas_plan(self, plan_id: str) -> r.SaasPlanRecord:
        body = self.request(
            "GET",
            f"/saas/saas-plan/{plan_id}",
            version=V_2021_04_15,
            params={"companyId": self.company_id},
        )
        return r.SaasPlanRecord.from_json(body)

    # --- sub-account reads (that sub-account's location token) -------------------------------
    def workflows(self, location_id: str) -> list[r.WorkflowRecord]:
        """GET /workflows/ (no pagination, §6.4)."""
        body = self.request(
            "GET",
            "/workflows/",
            version=V_2021_07_28,
            auth=location_id,
            params={"locationId": location_id},
        )
        return [r.WorkflowRecord.from_json(i) for i in _list(body, "workflows")]

    def calendars(self, location_id: str) -> list[r.CalendarRecord]:
        """GET /calendars/ (no pagination, §6.5)."""
        body = self.request(
            "GET",
            "/calendars/",
            version=V_2021_04_15,
            auth=location_id,
            params={"locationId": location_id},
        )
        return [r.CalendarRecord.from_json(i) for i in _list(body, "calendars")]

    def appointments(
        self, location_id: str, calendar_id: str, start: datetime, end: datetime
    ) -> list[r.AppointmentRecord]:
        """GET /calendars/events for one calendar between two instants (epoch ms, §6.5)."""
        body = self.request(
            "GET",
            "/calendars/events",
            version=V_2021_04_15,
            auth=location_id,
            params={
                "locationId": location_id,
                "calendarId": calendar_id,
                "startTime": str(int(start.timestamp() * 1000)),
                "endTime": str(int(end.timestamp() * 1000)),
            },
        )
        return [r.AppointmentRecord.from_json(i) for i in _list(body, "events")]

    def iter_products(self, location_id: str) -> Iterator[r.ProductRecord]:
        """GET /products/, offset/limit up to total[0].total (§6.6)."""
        for item in self.paginate_skip(
            "/products/",
            version=V_2021_07_28,
            items_key="products",
            auth=location_id,
            params={"locationId": location_id},
            total_key="total",
            skip_param="offset",
        ):
            yield r.ProductRecord.from_json(item)

    def count_products(self, location_id: str) -> int:
        body = self.request(
            "GET",
            "/products/",
            version=V_2021_07_28,
            auth=location_id,
            params={"locationId": location_id, "limit": "1"},
        )
        total = _total(body, "total")
        if total is None:
            raise BadResponse("GHL /products/: no total")
        return total

    def count_conversations(
        self,
        location_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        direction: str | None = None,
    ) -> int:
        """GET /conversations/search?limit=1 and read `total` (§6.7); start/end filter on
        dateAdded, direction on lastMessageDirection."""
        params = {"locationId": location_id, "limit": "1"}
        if start is not None:
            params["startDate"] = str(int(start.timestamp() * 1000))
        if end is not None:
            params["endDate"] = str(int(end.timestamp() * 1000))
        if direction:
            params["lastMessageDirection"] = direction
        body = self.request(
            "GET", "/conversations/search", version=V_2021_04_15, auth=location_id, params=params
        )
        total = _total(body, "total")
        if total is None:
            raise BadResponse("GHL /conversations/search: no total")
        return total

    def iter_conversations(
        self, location_id: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[r.ConversationRecord]:
        params = {"locationId": location_id}
        if start is not None:
            params["startDate"] = str(int(start.timestamp() * 1000))
        if end is not None:
            params["endDate"] = str(int(end.timestamp() * 1000))
        for item in self.paginate_cursor(
            "/conversations/search",
            version=V_2021_04_15,
            items_key="conversations",
            auth=location_id,
            params=params,
        ):
            yield r.ConversationRecord.from_json(item)


class _Progress:
    """Whether each page of a listing brings something new. A page whose every item was listed
    already means GHL ignored the position we asked for (or its cursor loops): requesting again
    would bring the same page until MAX_PAGES or the task's time limit, so the listing stops."""

    def __init__(self, path: str, param: str):
        self.path, self.param = path, param
        self.seen: set[str] = set()

    def check(self, items: list) -> None:
        if not items:
            return
        keys = [_item_key(item) for item in items]
        if all(k in self.seen for k in keys):
            raise PaginationStalled(f"GHL {self.path}: a page without progress ({self.param})")
        self.seen.update(keys)


def _item_key(item: Any) -> str:
    if isinstance(item, dict):
        for name in ("id", "_id", "locationId"):
            value = item.get(name)
            if isinstance(value, str) and value:
                return value[:128]
    raw = json.dumps(item, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def _network_failure(path: str, exc: requests.RequestException) -> GHLUnavailable:
    cause = exc.args[0] if exc.args else None
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(cause, ReadTimeoutError):
        # A timeout while the body streams arrives as a ConnectionError around urllib3's.
        return GHLTimeout(f"GHL {path}: {type(exc).__name__}")
    return GHLUnavailable(f"GHL {path}: {type(exc).__name__}")


def _retry_status(failure: Exception, status: int | None) -> int | None:
    if isinstance(failure, RateLimited):
        return 429
    return status if isinstance(status, int) and status >= 500 else None


def _list(body: Any, key: str) -> list:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadResponse(f"GHL answer without a {key} list")
    return items


def _total(body: Any, key: str) -> int | None:
    """Totals come as a number (`count`, `total`) or, for products, as [{"total": N}]."""
    value = body.get(key) if isinstance(body, dict) else None
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[0].get("total")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None
