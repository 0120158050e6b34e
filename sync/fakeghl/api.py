"""The fake's GHL endpoints: each takes the parsed request and returns (status, JSON body).

Shapes follow GHL_API.md §6 and the OpenAPI specs (tests/sync/test_fakeghl_schemas.py checks every
one); pagination follows §7.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sync.fakeghl.state import ACCESS_TTL, TokenInfo
from sync.fakeghl.world import SYMBOLS, Location, World, iso

V1 = "2021-07-28"
V2 = "2021-04-15"
MAX_LIMIT = 100


class ApiError(Exception):
    def __init__(self, status: int, message: str, error: str | None = None):
        self.status, self.message, self.error = status, message, error

    def body(self) -> dict:
        out: dict = {"statusCode": self.status, "message": self.message}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Call:
    path: str
    query: dict[str, str]
    form: dict[str, str]
    token: TokenInfo | None
    day: int
    huge: int  # page-size multiplier from the huge_pages fault (1 = normal)


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:
        raise ApiError(422, [f"{name} must be a number string"], "Unprocessable Entity") from None
    if n < 0:
        raise ApiError(422, [f"{name} must not be negative"], "Unprocessable Entity")
    return n


def _limit(call: Call, default: int) -> int:
    n = _int(call.query.get("limit"), default, "limit")
    return min(n, MAX_LIMIT) * call.huge


def _require(call: Call, *names: str) -> None:
    missing = [n for n in names if not call.query.get(n)]
    if missing:
        raise ApiError(422, [f"{n} should not be empty" for n in missing], "Unprocessable Entity")


def _own_company(call: Call, company_id: str) -> None:
    if call.token is None or call.token.company_id != company_id:
        raise ApiError(403, "The token does not have access to this company", "Forbidden")


def _location_for(world: World, call: Call, location_id: str) -> Location:
    loc = world.location(location_id, call.day)
    if loc is None:
        raise ApiError(404, "Location not found", "Not Found")
    token = call.token
    if (
        token is None
        or token.company_id != loc.company_id
        or (token.kind == "Location" and token.location_id != loc.id)
    ):
        raise ApiError(403, "The token does not have access to this location", "Forbidden")
    return loc


def location_json(loc: Location) -> dict:
    return {
        "id": loc.id,
        "companyId": loc.company_id,
        "name": loc.name,
        "domain": "",
        "address": f"{loc.index + 1} Main St",
        "city": loc.city,
        "state": loc.state,
        "country": loc.country,
        "postalCode": f"{10000 + loc.index}",
        "website": f"https://{loc.id.lower()}.example",
        "timezone": loc.timezone,
        "logoUrl": "",
        "firstName": loc.owner_first,
        "lastName": loc.owner_last,
        "email": loc.email,
        "phone": loc.phone,
        "business": {
            "name": f"{loc.name} LLC",
            "address": f"{loc.index + 1} Main St",
            "city": loc.city,
            "state": loc.state,
            "country": loc.country,
            "postalCode": f"{10000 + loc.index}",
            "website": "",
            "timezone": loc.timezone,
            "logoUrl": "",
        },
        "social": {"facebookUrl": "", "googlePlacesId": ""},
        "settings": {
            "allowDuplicateContact": False,
            "allowDuplicateOpportunity": False,
            "allowFacebookNameMerge": False,
            "disableContactTimezone": False,
        },
        "reseller": {},
    }


def search_location_json(loc: Location) -> dict:
    full = location_json(loc)
    keys = (
        "id",
        "name",
        "phone",
        "email",
        "address",
        "city",
        "state",
        "country",
        "postalCode",
        "website",
        "timezone",
        "settings",
        "social",
    )
    return {k: full[k] for k in keys}


def user_json(user) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "firstName": user.first,
        "lastName": user.last,
        "email": user.email,
        "phone": user.phone,
        "extension": "",
        "permissions": {
            "workflowsEnabled": True,
            "conversationsEnabled": True,
            "dashboardStatsEnabled": user.role == "admin",
        },
        "roles": {
            "type": user.type,
            "role": user.role,
            "locationIds": list(user.location_ids),
            "restrictSubAccount": user.restrict,
        },
        "deleted": False,
        "lcPhone": {},
        "platformLanguage": "en_US",
    }


class Api:
    def __init__(self, world: World, state, app_id_of):
        self.world, self.state, self.app_id_of = world, state, app_id_of

    # --- OAuth (services host) -------------------------------------------------------------
    def token(self, call: Call) -> tuple[int, dict]:
        f = call.form
        client_id, secret = f.get("client_id", ""), f.get("client_secret", "")
        if not client_id or self.state.apps.get(client_id) != secret:
            return 401, {"error": "invalid_client", "error_description": "Invalid client"}
        grant = f.get("grant_type")
        if grant == "authorization_code":
            info = self.state.take_code(f.get("code", ""))
            if (
                info is None
                or info["client_id"] != client_id
                or (f.get("redirect_uri") and f["redirect_uri"] != info["redirect_uri"])
            ):
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid grant: authorization code is invalid",
                }
            if info["company_id"] in self.state.revoked_companies:
                return 400, {"error": "invalid_grant", "error_description": "App not installed"}
            company_id, scope, user_id = info["company_id"], info["scope"], info["user_id"]
            location_id = None
        elif grant == "refresh_token":
            prior = self.state.use_refresh(f.get("refresh_token", ""), client_id)
            if prior is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid grant: refresh token is invalid",
                }
            company_id, scope, user_id = prior.company_id, prior.scope, prior.user_id
            location_id = prior.location_id
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be authorization_code or refresh_token",
            }
        user_type = f.get("user_type") or "Company"
        if user_type not in ("Company", "Location"):
            return 422, {
                "statusCode": 422,
                "message": ["user_type must be Company or Location"],
                "error": "Unprocessable Entity",
            }
        kind = "Location" if location_id else "Company"
        access, refresh = self.state.mint(
            kind=kind,
            company_id=company_id,
            location_id=location_id,
            scope=scope,
            client_id=client_id,
            user_id=user_id,
            with_refresh=True,
        )
        locations = self.world.locations(company_id, call.day)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
            "scope": scope,
            "userType": kind,
            "companyId": company_id,
            "userId": user_id,
            "approvedLocations": [
                loc.id for loc in locations if self.world.installed_on(loc, call.day)
            ],
            "isBulkInstallation": True,
            "installToFutureLocations": True,
            "approveAllLocations": False,
        }
        if location_id:
            body["locationId"] = location_id
        return 200, body

    def location_token(self, call: Call) -> tuple[int, dict]:
        self._company_token(call)
        company_id, location_id = call.form.get("companyId", ""), call.form.get("locationId", "")
        if not company_id or not location_id:
            raise ApiError(422, ["companyId and locationId are required"], "Unprocessable Entity")
        _own_company(call, company_id)
        loc = self.world.location(location_id, call.day)
        if loc is None or loc.company_id != company_id:
            raise ApiError(400, "Location not found for this company")
        if not self.world.installed_on(loc, call.day):
            raise ApiError(400, "App is not installed on this location")
        assert call.token is not None
        access, _ = self.state.mint(
            kind="Location",
            company_id=company_id,
            location_id=loc.id,
            scope=call.token.scope,
            client_id=call.token.client_id,
            user_id=call.token.user_id,
            with_refresh=False,
        )
        app_id = self.app_id_of(call.token.client_id)
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "scope": call.token.scope,
            "locationId": loc.id,
            "userId": call.token.user_id,
            "appId": app_id,
            "versionId": app_id,
        }

    def installed_locations(self, call: Call) -> tuple[int, dict]:
        self._company_token(call)
        _require(call, "companyId", "appId")
        _own_company(call, call.query["companyId"])
        assert call.token is not None
        if call.query["appId"] != self.app_id_of(call.token.client_id):
            raise ApiError(400, "appId does not match the token's app")
        skip, limit = _int(call.query.get("skip"), 0, "skip"), _limit(call, 20)
        locs = self.world.locations(call.query["companyId"], call.day)
        wanted = call.query.get("isInstalled")
        if wanted in ("true", "false"):
            locs = [
                loc for loc in locs if self.world.installed_on(loc, call.day) == (wanted == "true")
            ]
        page = locs[skip : skip + limit]
        app_id = self.app_id_of(call.token.client_id)
        return 200, {
            "locations": [
                {
                    "_id": loc.id,
                    "name": loc.name,
                    "address": f"{loc.index + 1} Main St, {loc.city}, {loc.country}",
                    "isInstalled": self.world.installed_on(loc, call.day),
                    "versionId": app_id,
                    "installedAt": iso(self.world.day_start(max(loc.created_day, -30))),
                }
                for loc in page
            ],
            "count": len(locs),
            "installToFutureLocations": True,
        }

    # --- locations, users, company ---------------------------------------------------------
    def locations_search(self, call: Call) -> tuple[int, dict]:
        token = call.token
        assert token is not None
        company_id = call.query.get("companyId") or token.company_id
        _own_company(call, company_id)
        skip, limit = _int(call.query.get("skip"), 0, "skip"), _limit(call, 10)
        locs = self.world.locations(company_id, call.day)
        if token.kind == "Location":
            locs = [loc for loc in locs if loc.id == token.location_id]
        if call.query.get("order") == "desc":
            locs = locs[::-1]
        return 200, {"locations": [search_location_json(x) for x in locs[skip : skip + limit]]}

    def location_get(self, call: Call, location_id: str) -> tuple[int, dict]:
        return 200, {"location": location_json(_location_for(self.world, call, location_id))}

    def users_search(self, call: Call) -> tuple[int, dict]:
        _require(call, "companyId")
        _own_company(call, call.query["companyId"])
        location_id = call.query.get("locationId")
        if location_id:
            _location_for(self.world, call, location_id)
        elif call.token is not None and call.token.kind == "Location":
            raise ApiError(403, "A sub-account token can only search its own users", "Forbidden")
        users = self.world.users(call.query["companyId"], call.day, location_id)
        if call.query.get("type"):
            users = [u for u in users if u.type == call.query["type"]]
        if call.query.get("role"):
            users = [u for u in users if u.role == call.query["role"]]
        skip, limit = _int(call.query.get("skip"), 0, "skip"), _limit(call, 25)
        return 200, {
            "users": [user_json(u) for u in users[skip : skip + limit]],
            "count": len(users),
        }

    def user_get(self, call: Call, user_id: str) -> tuple[int, dict]:
        assert call.token is not None
        for user in self.world.users(call.token.company_id, call.day, call.token.location_id):
            if user.id == user_id:
                return 200, user_json(user)
        raise ApiError(404, "User not found", "Not Found")

    def company(self, call: Call, company_id: str) -> tuple[int, dict]:
        self._company_token(call)
        _own_company(call, company_id)
        agency = self.world.agency(company_id)
        if agency is None:
            raise ApiError(404, "Company not found", "Not Found")
        slug = agency.domain[4:]
        return 200, {
            "company": {
                "id": agency.company_id,
                "name": agency.name,
                "email": f"ops@{slug}",
                "phone": "+15125550100",
                "website": f"https://{slug}",
                "domain": f"https://{agency.domain}",
                "timezone": agency.timezone,
                "country": "US",
                "plan": 3,
                "currency": agency.currency,
                "customerType": "agency",
                "status": "active",
                "locationCount": len(self.world.locations(company_id, call.day)),
                "isReselling": True,
                "saasSettings": {"agencyDashboardVisibleTo": "admins"},
                "upgradeEnabledForClients": True,
                "cancelEnabledForClients": False,
                "autoSuspendEnabled": True,
            }
        }

    # --- per-location reads ----------------------------------------------------------------
    def workflows(self, call: Call) -> tuple[int, dict]:
        _require(call, "locationId")
        loc = _location_for(self.world, call, call.query["locationId"])
        return 200, {"workflows": self.world.workflows(loc, call.day)}

    def calendars(self, call: Call) -> tuple[int, dict]:
        _require(call, "locationId")
        loc = _location_for(self.world, call, call.query["locationId"])
        return 200, {"calendars": self.world.calendars(loc, call.day)}

    def calendar_events(self, call: Call) -> tuple[int, dict]:
        _require(call, "locationId", "startTime", "endTime")
        loc = _location_for(self.world, call, call.query["locationId"])
        if not any(call.query.get(k) for k in ("calendarId", "userId", "groupId")):
            raise ApiError(
                422, ["one of calendarId, userId or groupId is required"], "Unprocessable Entity"
            )
        start_ms = _int(call.query["startTime"], 0, "startTime")
        end_ms = _int(call.query["endTime"], 0, "endTime")
        start = datetime.fromtimestamp(start_ms / 1000, UTC)
        end = datetime.fromtimestamp(end_ms / 1000, UTC)
        first, last = self.world.day_of(start) - 7, min(self.world.day_of(end), call.day)
        if last - first > 400:
            raise ApiError(400, "Time range too large")
        events = []
        for day in range(first, last + 1):
            for ev in self.world.appointments_booked(loc, day):
                if not (start <= ev["_start"] <= end):
                    continue
                if call.query.get("calendarId") and ev["calendarId"] != call.query["calendarId"]:
                    continue
                if call.query.get("userId") and ev["assignedUserId"] != call.query["userId"]:
                    continue
                self.state.remember_customer_values(*ev["_customer"])
                events.append({k: v for k, v in ev.items() if not k.startswith("_")})
        return 200, {"events": events}

    def products(self, call: Call) -> tuple[int, dict]:
        _require(call, "locationId")
        loc = _location_for(self.world, call, call.query["locationId"])
        items = self.world.products(loc, call.day)
        offset, limit = _int(call.query.get("offset"), 0, "offset"), _limit(call, 20)
        return 200, {"products": items[offset : offset + limit], "total": [{"total": len(items)}]}

    def conversations_search(self, call: Call) -> tuple[int, dict]:
        _require(call, "locationId")
        loc = _location_for(self.world, call, call.query["locationId"])
        q = call.query
        limit = _limit(call, 20)
        start_ms = _int(q.get("startDate"), 0, "startDate") if q.get("startDate") else None
        end_ms = _int(q.get("endDate"), 0, "endDate") if q.get("endDate") else None
        after = None
        if q.get("startAfterDate"):
            after = _int(q["startAfterDate"], 0, "startAfterDate")
        direction = q.get("lastMessageDirection")
        if direction not in (None, "", "inbound", "outbound"):
            raise ApiError(
                422, ["lastMessageDirection must be inbound or outbound"], "Unprocessable Entity"
            )
        first = max(loc.created_day, call.day - 400)
        if start_ms is not None:
            first = max(first, self.world.day_of(datetime.fromtimestamp(start_ms / 1000, UTC)))
        last = call.day
        if end_ms is not None:
            last = min(last, self.world.day_of(datetime.fromtimestamp(end_ms / 1000, UTC)))
        total = 0
        for day in range(first, last + 1):
            n, inbound = self.world.conversation_counts(loc.id, day)
            total += inbound if direction == "inbound" else n - inbound if direction else n
        page: list[dict] = []
        day = last
        while day >= first and len(page) < limit:
            n, _ = self.world.conversation_counts(loc.id, day)
            for j in range(n - 1, -1, -1):
                conv = self.world.conversation(loc, day, j)
                if direction and conv["lastMessageDirection"] != direction:
                    continue
                if start_ms is not None and conv["dateAdded"] < start_ms:
                    continue
                if end_ms is not None and conv["dateAdded"] > end_ms:
                    continue
                if after is not None and conv["lastMessageDate"] >= after:
                    continue
                page.append(conv)
                if len(page) >= limit:
                    break
            day -= 1
        for conv in page:
            self.state.remember_customer_values(
                conv["fullName"], conv["email"], conv["phone"], conv["lastMessageBody"]
            )
        return 200, {"conversations": page, "total": total}

    # --- SaaS (agency token) -----------------------------------------------------------------
    def _company_token(self, call: Call) -> None:
        if call.token is None or call.token.kind != "Company":
            raise ApiError(401, "This route needs an agency (Company) token", "Unauthorized")

    def saas_locations(self, call: Call, company_id: str) -> tuple[int, dict]:
        self._company_token(call)
        _own_company(call, company_id)
        page = _int(call.query.get("page"), 0, "page")
        if page < 1:
            raise ApiError(422, ["page must be a number >= 1"], "Unprocessable Entity")
        limit = 10 * call.huge
        rows = []
        for loc in self.world.locations(company_id, call.day):
            saas = self.world.saas_state(loc, call.day)
            if saas is None:
                continue
            rows.append(
                {
                    "locationId": loc.id,
                    "companyId": company_id,
                    "saasMode": "saasV2",
                    "subscriptionId": f"sub_{loc.id[:14]}",
                    "customerId": f"cus_{loc.id[:12]}",
                    "name": loc.name,
                    "email": loc.email,
                    "isSaaSV2": True,
                    "subscriptionInfo": {
                        "priceId": saas["price_id"],
                        "saasPlanId": saas["plan"].plan_id,
                        "status": saas["status"],
                    },
                }
            )
        total = len(rows)
        pages = max(1, -(-total // limit))
        chunk = rows[(page - 1) * limit : page * limit]
        return 200, {
            "locations": chunk,
            "pagination": {
                "page": page,
                "limit": limit,
                "total": total,
                "totalPages": pages,
                "hasNext": page < pages,
                "hasPrev": page > 1,
            },
        }

    def saas_subscription(self, call: Call, location_id: str) -> tuple[int, dict]:
        self._company_token(call)
        _require(call, "companyId")
        _own_company(call, call.query["companyId"])
        loc = _location_for(self.world, call, location_id)
        saas = self.world.saas_state(loc, call.day)
        body = {"locationId": loc.id, "companyId": loc.company_id, "isSaaSV2": True}
        if saas is None:
            body.update({"saasMode": "not_activated"})
            return 200, body
        plan = saas["plan"]
        body.update(
            {
                "saasMode": "saasV2",
                "subscriptionId": f"sub_{loc.id[:14]}",
                "customerId": f"cus_{loc.id[:12]}",
                "productId": f"prod_{plan.plan_id[:12]}",
                "priceId": saas["price_id"],
                "saasPlanId": plan.plan_id,
                "subscriptionStatus": saas["status"],
            }
        )
        return 200, body

    def _plan_json(self, plan) -> dict:
        created = iso(self.world.day_start(plan.created_day))
        return {
            "planId": plan.plan_id,
            "title": plan.title,
            "description": f"{plan.title} plan",
            "saasProducts": ["2-way-text-messaging", "web-chat", "reputation-management"],
            "addOns": [],
            "planLevel": plan.level,
            "trialPeriod": 14,
            "userLimit": 10,
            "contactLimit": 10000,
            "prices": [
                {
                    "id": plan.price_month_id,
                    "billingInterval": "month",
                    "active": True,
                    "amount": plan.monthly,
                    "currency": plan.currency,
                    "symbol": SYMBOLS.get(plan.currency, plan.currency),
                },
                {
                    "id": plan.price_year_id,
                    "billingInterval": "year",
                    "active": True,
                    "amount": plan.yearly,
                    "currency": plan.currency,
                    "symbol": SYMBOLS.get(plan.currency, plan.currency),
                },
            ],
            "productId": f"prod_{plan.plan_id[:12]}",
            "isSaaSV2": True,
            "createdAt": created,
            "updatedAt": created,
        }

    def agency_plans(self, call: Call, company_id: str) -> tuple[int, list]:
        self._company_token(call)
        _own_company(call, company_id)
        agency = self.world.agency(company_id)
        return 200, [self._plan_json(p) for p in (agency.plans if agency else ())]

    def saas_plan(self, call: Call, plan_id: str) -> tuple[int, dict]:
        self._company_token(call)
        _require(call, "companyId")
        _own_company(call, call.query["companyId"])
        found = self.world.plan(plan_id)
        if found is None or found[0].company_id != call.query["companyId"]:
            raise ApiError(404, "Plan not found", "Not Found")
        body = self._plan_json(found[1])
        body.update({"companyId": found[0].company_id, "setupFee": 0})
        return 200, body


def consent_redirect(redirect_uri: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{sep}{urlencode(params)}"
