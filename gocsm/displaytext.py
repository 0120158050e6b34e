"""Text from outside that is only ever shown (names, e-mail addresses), made safe to store.

Display text decides nothing, so it is never a reason to refuse a request: it is cleaned and cut
to the column it goes into. Removed: C0 and C1 control characters and DEL (a NUL cannot even be
stored in PostgreSQL), unpaired UTF-16 surrogates (not encodable as UTF-8), and the
bidirectional controls that make a name read differently from what it is. Line breaks and tabs
become spaces.
"""

from __future__ import annotations

import re

_WHITESPACE_CONTROLS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
_UNWANTED = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # C0 (less the whitespace above), DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks and overrides
    "\ud800-\udfff]"  # surrogates: a str holds them only unpaired
)


def clean(value: object, limit: int) -> str:
    """`value` as storable display text of at most `limit` characters; "" if it is not text."""
    if not isinstance(value, str):
        return ""
    text = _UNWANTED.sub("", _WHITESPACE_CONTROLS.sub(" ", value))
    return text.strip()[:limit].rstrip()
