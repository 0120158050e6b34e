"""CSV exports of the dashboard pages: spreadsheet-safe cells and file names people recognise."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number written as text ("-2", "-0.50"): a spreadsheet reads it as that number and
# nothing else, so it needs no guard.
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value) -> str | int | float | Decimal:
    """The cell as written: numbers as they are (negative and decimal ones included), text that
    a spreadsheet would run as a formula with a leading quote."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def file_name(*parts: str) -> str:
    """'score-history' and 'Alvarez Salon 19' -> 'score-history-alvarez-salon-19.csv': a slug of
    the page and of what it shows (a sub-account's name, never its GHL id)."""
    slugs = [slugify(p, allow_unicode=True) for p in parts]
    return "-".join(s for s in slugs if s) + ".csv"


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # Django quotes the name, and adds an RFC 5987 form for names that are not plain ASCII.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    writer = csv.writer(response)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return response
