"""Escaping for the markup that charts and table rows build in Python."""

from __future__ import annotations

from html import escape as _html_escape


def escape(value) -> str:
    """The same text django.utils.html.escape gives (& < > " ' as entities), without its
    lazy-string wrapper and SafeString copy: a page calls this several hundred times."""
    return _html_escape(value if type(value) is str else str(value))
