"""templates/base.html writes its pages unlocalized ({% localize off %}, for speed): that must
write every number and date exactly as the pages' language (en-us) would, so the switch changes
no page. This fails when a setting that makes the two differ changes (LANGUAGE_CODE,
USE_THOUSAND_SEPARATOR, a *_FORMAT setting)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.template import engines

VALUES = {
    "int": 1234567,
    "negative": -42,
    "zero": 0,
    "float": 12345.678,
    "small": 0.1,
    "decimal": Decimal("98765.43"),
    "day": date(2026, 3, 31),
    "moment": datetime(2026, 11, 30, 17, 5, tzinfo=UTC),
    "clock": time(9, 30),
    "flag": True,
}
FIELDS = "".join(f"[{{{{ {name} }}}}]" for name in VALUES)


def _render(source: str) -> str:
    return engines["django"].from_string(source).render(VALUES)


def test_unlocalized_output_is_what_en_us_writes():
    localized = _render(FIELDS)
    unlocalized = _render("{% load l10n %}{% localize off %}" + FIELDS + "{% endlocalize %}")
    assert localized == unlocalized
    # What both write (the figures a page shows): digits without separators, dates in words.
    assert "[1234567]" in unlocalized
    assert "[12345.678]" in unlocalized
    assert "[March 31, 2026]" in unlocalized


def test_every_page_is_written_unlocalized():
    """The switch sits in the base layout every page extends."""
    source = engines["django"].get_template("base.html").template.source
    body = source[source.index("<body") :]
    assert body.index("{% localize off %}") < body.index("{% block content %}")
    assert body.index("{% endlocalize %}") > body.index("{% block content %}")
