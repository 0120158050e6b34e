"""JSON that came from outside, parsed only once it is known to be harmless to parse.

Python's json module recurses once per level of nesting, so a 200 KB body of brackets raises
RecursionError (a 500) instead of ValueError. Here the nesting is measured before parsing, with
a scan that does not recurse, and everything that can go wrong becomes one InvalidJSON (a
ValueError), so every caller answers its usual 4xx:

- nesting deeper than `max_depth`;
- bytes that are not UTF-8, text that is not JSON;
- NaN and Infinity (not JSON, and no caller wants them);
- integers longer than Python converts (sys.get_int_max_str_digits);
- unpaired surrogates (`"\\ud800"`), which no database column can store, unless the caller
  cleans every string it keeps (`allow_unpaired_surrogates`).
"""

from __future__ import annotations

import json
import re

# Deeper than anything we accept: Stripe's events nest about 8 levels, GHL's webhooks 4.
MAX_DEPTH = 32

# A string literal (possibly unterminated) or one bracket. Possessive quantifiers: no backtracking.
_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.S)
# Any escaped UTF-16 surrogate: only then can a parsed string hold an unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class InvalidJSON(ValueError):
    """The input is not JSON we parse. The message is a short reason, never the input."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, brackets inside strings ignored."""
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        first = text[match.start()]
        if first == "[" or first == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif first == "]" or first == "}":
            depth -= 1
    return deepest


def _no_constants(name: str):
    raise InvalidJSON(f"{name} is not JSON")


def loads(
    data: bytes | str,
    *,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook=None,
    allow_unpaired_surrogates: bool = False,
):
    """Parse `data` (UTF-8 bytes or text) or raise InvalidJSON.

    Exceptions raised by `object_pairs_hook` that are not ValueErrors pass through unchanged.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON("not UTF-8") from None
    elif isinstance(data, str):
        text = data
    else:
        raise InvalidJSON("not text")
    # Fewer opening brackets than the limit cannot nest deeper than it: no scan needed.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise InvalidJSON("nested too deeply")
    try:
        value = json.loads(text, object_pairs_hook=object_pairs_hook, parse_constant=_no_constants)
    except InvalidJSON:
        raise
    except RecursionError:
        # Not reachable within MAX_DEPTH; kept so a future caller's huge limit stays a 4xx.
        raise InvalidJSON("nested too deeply") from None
    except ValueError:
        # Includes integers longer than Python converts to int.
        raise InvalidJSON("not JSON") from None
    if not allow_unpaired_surrogates and _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJSON("unpaired surrogate") from None
    return value
