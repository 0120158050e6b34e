"""Typed records holding only what GoCSM keeps from GHL's answers.

Each mapper copies whitelisted fields (ids, names, status, plan, city, country, counts, dates) out
of one response item. Contact names, emails, phones, message bodies, notes, addresses and the like
never leave this module: no record has a field for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gocsm.money import monthly_minor_units
from sync.ghl.errors import BadResponse


def _s(item: dict, key: str, limit: int = 200) -> str:
    value = item.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _required(item: Any, key: str) -> str:
    if not isinstance(item, dict):
        raise BadResponse("expected an object in GHL's answer")
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise BadResponse(f"GHL item without {key}")
    return value[:64]


def parse_when(value: Any) -> datetime | None:
    """GHL dates come as ISO strings or epoch milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def host_of(domain: str) -> str:
    """'https://app.brightpath.example/' -> 'app.brightpath.example'."""
    host = domain.split("://", 1)[-1].split("/", 1)[0].strip().lower()
    return host if all(c.isalnum() or c in ".-:" for c in host) else ""


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    id: str
    name: str
    timezone: str
    currency: str
    country: str
    whitelabel_domain: str
    status: str
    location_count: int | None

    @classmethod
    def from_json(cls, body: Any) -> CompanyRecord:
        item = body.get("company") if isinstance(body, dict) else None
        count = item.get("locationCount") if isinstance(item, dict) else None
        return cls(
            id=_required(item, "id"),
            name=_s(item, "name"),
            timezone=_s(item, "timezone", 64),
            currency=_s(item, "currency", 8),
            country=_s(item, "country", 8),
            whitelabel_domain=host_of(_s(item, "domain", 253)),
            status=_s(item, "status", 32),
            location_count=int(count) if isinstance(count, int | float) else None,
        )


@dataclass(frozen=True, slots=True)
class LocationRecord:
    id: str
    name: str
    city: str
    state: str
    country: str
    timezone: str
    company_id: str = ""

    @classmethod
    def from_json(cls, item: Any) -> LocationRecord:
        return cls(
            id=_required(item, "id"),
            name=_s(item, "name"),
            city=_s(item, "city", 120),
            state=_s(item, "state", 120),
            country=_s(item, "country", 8),
            timezone=_s(item, "timezone", 64),
            company_id=_s(item, "companyId", 64),
        )


@dataclass(frozen=True, slots=True)
class InstalledLocationRecord:
    id: str
    name: str
    is_installed: bool
    installed_at: datetime | None

    @classmethod
    def from_json(cls, item: Any) -> InstalledLocationRecord:
        return cls(
            id=_required(item, "_id"),
            name=_s(item, "name"),
            is_installed=bool(item.get("isInstalled", True)),
            installed_at=parse_when(item.get("installedAt")),
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An agency or sub-account user (staff of the agency or of its client, never a contact)."""

    id: str
    name: str
    email: str
    type: str  # agency | account
    role: str  # admin | user
    location_ids: tuple[str, ...]
    restrict_sub_account: bool
    deleted: bool

    @classmethod
    def from_json(cls, item: Any) -> UserRecord:
        roles = item.get("roles") if isinstance(item, dict) else None
        roles = roles if isinstance(roles, dict) else {}
        name = _s(item, "name") or f"{_s(item, 'firstName')} {_s(item, 'lastName')}".strip()
        ids = roles.get("locationIds")
        return cls(
            id=_required(item, "id"),
            name=name[:200],
            email=_s(item, "email", 254),
            type=_s(roles, "type", 16),
            role=_s(roles, "role", 16),
            location_ids=tuple(str(i)[:64] for i in ids if isinstance(i, str))
            if isinstance(ids, list)
            else (),
            restrict_sub_account=bool(roles.get("restrictSubAccount", False)),
            deleted=bool(item.get("deleted", False)),
        )


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    id: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, item: Any) -> WorkflowRecord:
        return cls(
            id=_required(item, "id"),
            status=_s(item, "status", 32),
            created_at=parse_when(item.get("createdAt")),
            updated_at=parse_when(item.get("updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class CalendarRecord:
    id: str
    is_active: bool
    calendar_type: str

    @classmethod
    def from_json(cls, item: Any) -> CalendarRecord:
        return cls(
            id=_required(item, "id"),
            is_active=bool(item.get("isActive", True)),
            calendar_type=_s(item, "calendarType", 32),
        )


@dataclass(frozen=True, slots=True)
class AppointmentRecord:
    """Counts need only when it was booked and its status; title, notes and contact stay out."""

    id: str
    calendar_id: str
    status: str
    start_time: datetime | None
    date_added: datetime | None

    @classmethod
    def from_json(cls, item: Any) -> AppointmentRecord:
        return cls(
            id=_required(item, "id"),
            calendar_id=_s(item, "calendarId", 64),
            status=_s(item, "appointmentStatus", 32),
            start_time=parse_when(item.get("startTime")),
            date_added=parse_when(item.get("dateAdded")),
        )


@dataclass(frozen=True, slots=True)
class ProductRecord:
    id: str
    product_type: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, item: Any) -> ProductRecord:
        return cls(
            id=_required(item, "_id"),
            product_type=_s(item, "productType", 32),
            created_at=parse_when(item.get("createdAt")),
            updated_at=parse_when(item.get("updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """Only what a count needs: who, when and which direction. No contact, no message body."""

    id: str
    date_added: datetime | None
    direction: str
    sort_value: int | None  # the cursor GHL pages by (lastMessageDate, epoch ms)

    @classmethod
    def from_json(cls, item: Any) -> ConversationRecord:
        sort_value = item.get("lastMessageDate") if isinstance(item, dict) else None
        return cls(
            id=_required(item, "id"),
            date_added=parse_when(item.get("dateAdded")),
            direction=_s(item, "lastMessageDirection", 16),
            sort_value=int(sort_value) if isinstance(sort_value, int | float) else None,
        )


@dataclass(frozen=True, slots=True)
class SaasLocationRecord:
    location_id: str
    saas_mode: str
    plan_id: str
    price_id: str
    subscription_status: str

    @classmethod
    def from_json(cls, item: Any) -> SaasLocationRecord:
        info = item.get("subscriptionInfo") if isinstance(item, dict) else None
        info = info if isinstance(info, dict) else {}
        return cls(
            location_id=_required(item, "locationId"),
            saas_mode=_s(item, "saasMode", 32),
            plan_id=_s(info, "saasPlanId", 64),
            price_id=_s(info, "priceId", 64),
            subscription_status=_s(info, "status", 32),
        )


@dataclass(frozen=True, slots=True)
class SaasSubscriptionRecord:
    location_id: str
    saas_mode: str
    plan_id: str
    price_id: str
    subscription_status: str

    @classmethod
    def from_json(cls, item: Any) -> SaasSubscriptionRecord:
        return cls(
            location_id=_required(item, "locationId"),
            saas_mode=_s(item, "saasMode", 32),
            plan_id=_s(item, "saasPlanId", 64),
            price_id=_s(item, "priceId", 64),
            subscription_status=_s(item, "subscriptionStatus", 32).lower(),
        )


@dataclass(frozen=True, slots=True)
class PriceRecord:
    id: str
    interval: str  # month | year
    amount: Decimal  # in the currency's major unit, as GHL gives it (297 = 297.00)
    currency: str
    active: bool

    @property
    def monthly_cents(self) -> int | None:
        """Monthly recurring revenue of one subscription at this price, in minor units (the one
        rounding rule of gocsm.money); None for a price that does not recur."""
        try:
            return monthly_minor_units(self.amount * 100, self.interval)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class SaasPlanRecord:
    plan_id: str
    title: str
    prices: tuple[PriceRecord, ...]

    def price(self, price_id: str) -> PriceRecord | None:
        return next((p for p in self.prices if p.id == price_id), None)

    @classmethod
    def from_json(cls, item: Any) -> SaasPlanRecord:
        prices = []
        for p in item.get("prices") or [] if isinstance(item, dict) else []:
            if not isinstance(p, dict) or not isinstance(p.get("id"), str):
                continue
            try:
                amount = Decimal(str(p.get("amount", 0)))
            except InvalidOperation:
                continue
            prices.append(
                PriceRecord(
                    p["id"][:64],
                    _s(p, "billingInterval", 16),
                    amount,
                    _s(p, "currency", 8).upper(),
                    bool(p.get("active", True)),
                )
            )
        return cls(plan_id=_required(item, "planId"), title=_s(item, "title"), prices=tuple(prices))
