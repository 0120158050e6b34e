"""MRR entered by hand for sub-accounts billed outside GHL SaaS: the one write path.

An owner or admin gives a sub-account's monthly amount and currency, optionally from a day on
(`since`; none = from the sub-account's first day). The new entry replaces the entries that
started on or after that day, so the figures form one schedule (analytics.daystate reads it).
An empty amount ends the manual figure from `since` on. Every change is audited and triggers a
recompute of the days it affects. GHL's own figure wins on any day it has one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction

from accounts import audit
from accounts.models import Location
from analytics.agencyclock import agency_today
from analytics.models import ManualMRR

DB = "analytics"
MAX_CENTS = 100_000_000_00  # 100 million a month: anything above is a typo
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_UPLOAD_ROWS = 5000
MAX_UPLOAD_BYTES = 1_000_000
CSV_COLUMNS = ("sub_account_id", "mrr", "currency", "since")


class InvalidEntry(ValueError):
    """A manual MRR entry that cannot be accepted; the message says why, in the user's words."""


@dataclass(frozen=True)
class Entry:
    location_ghl_id: str
    mrr_cents: int | None
    currency: str
    since: date | None


def parse_amount(text: str) -> int | None:
    """'1,250.50' -> 125050 cents; '' -> None (ends the manual figure)."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidEntry("MRR must be a number such as 1250 or 1250.50") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidEntry("MRR must be zero or more, with at most two decimals")
    cents = int(amount * 100)
    if cents > MAX_CENTS:
        raise InvalidEntry("MRR above 100,000,000 a month looks like a typo")
    return cents


def check_entry(agency, entry: Entry, today: date) -> Entry:
    """The entry, normalised, or InvalidEntry naming the problem."""
    if not Location.objects.for_agency(agency).filter(ghl_id=entry.location_ghl_id).exists():
        raise InvalidEntry(f"No sub-account with id {entry.location_ghl_id[:64]!r} in this agency")
    currency = (entry.currency or "").strip().upper()
    if entry.mrr_cents is not None and not CURRENCY.match(currency):
        raise InvalidEntry("Currency must be a three-letter code such as USD or EUR")
    if entry.since is not None and entry.since > today:
        raise InvalidEntry("'Since' cannot be in the future")
    return Entry(entry.location_ghl_id, entry.mrr_cents, currency, entry.since)


def save_entries(agency, entries: list[Entry], *, user, via: str, request=None) -> date | None:
    """Store checked entries (all or none) and audit each. Returns the earliest day affected
    (None = from each sub-account's first day), for the caller's recompute."""
    earliest: date | None = date.max
    with transaction.atomic(using=DB):
        for e in entries:
            existing = ManualMRR.objects.for_agency(agency.pk).filter(
                location_ghl_id=e.location_ghl_id
            )
            if e.since is not None:
                existing = existing.filter(since__gte=e.since)
            existing.delete()
            ManualMRR.objects.create(
                agency_id=agency.pk,
                location_ghl_id=e.location_ghl_id,
                since=e.since,
                mrr_cents=e.mrr_cents,
                currency=e.currency,
                entered_by=user.name[:200],
                via=via,
            )
            earliest = None if e.since is None or earliest is None else min(earliest, e.since)
    for e in entries:
        audit.record(
            "analytics.manual_mrr_set",
            agency=agency,
            actor_type="ghl_user",
            actor_id=user.ghl_id,
            target=e.location_ghl_id,
            request=request,
            detail={
                "mrr_cents": e.mrr_cents,
                "currency": e.currency,
                "since": e.since.isoformat() if e.since else None,
                "via": via,
            },
        )
    return earliest


def parse_upload(agency, data: bytes) -> list[Entry]:
    """Entries from a CSV upload (CSV_COLUMNS, header first), every row checked before any is
    saved. InvalidEntry lists the bad rows by line number."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidEntry("The file is larger than 1 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEntry("The file is not UTF-8 text (save it as CSV UTF-8)") from exc
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:3] != list(CSV_COLUMNS[:3]) or len(header) > len(CSV_COLUMNS):
        raise InvalidEntry("The first line must be: " + ",".join(CSV_COLUMNS) + " (since optional)")
    today = agency_today(agency)
    entries, problems = [], []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(entries) + len(problems) >= MAX_UPLOAD_ROWS:
            raise InvalidEntry(f"At most {MAX_UPLOAD_ROWS} rows per file")
        cells = [c.strip() for c in row] + [""] * (len(CSV_COLUMNS) - len(row))
        try:
            since = _day(cells[3])
            entry = Entry(cells[0], parse_amount(cells[1]), cells[2], since)
            entries.append(check_entry(agency, entry, today))
        except InvalidEntry as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        shown = problems[:20]
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise InvalidEntry("Nothing was saved. " + "; ".join(shown) + more)
    if not entries:
        raise InvalidEntry("The file has no rows")
    return entries


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidEntry("'since' must be a date like 2026-01-31") from exc
