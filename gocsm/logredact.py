"""Mask secrets in log records: message, args and `extra`, on every handler.

Two nets: values under sensitive key names are replaced whole, and free text is scanned for the
shapes secrets take here (bearer/JWT tokens, CryptoJS SSO payloads, Stripe and webhook signatures,
Fernet tokens, cookie and authorization headers, key=value pairs with sensitive keys).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

MASK = "[REDACTED]"

SENSITIVE_KEY = re.compile(
    r"(token|secret|password|passwd|payload|authorization|cookie|session|signature|api[_-]?key|"
    r"credential|private[_-]?key|csrf|^code$|^state$)",
    re.IGNORECASE,
)

# Keys that hold a secret whatever comes before them (`stripe_secret`, `x_token`): matched as the
# end of a longer key too.
_KEYWORDS = (
    r"access_token|refresh_token|id_token|token|client_secret|secret|password|passwd|payload|"
    r"session_?key|sessionid|session|csrftoken|csrfmiddlewaretoken|api_key|apikey|"
    r"signature|stripe-signature|x-wh-signature|x-ghl-signature|authorization|cookie|set-cookie"
)
# Keys that hold a secret only as the whole key (OAuth's `code` and `state`, and their spelled-out
# forms): `status_code`, `error_code` or `subscription_state` are ordinary values, so nothing
# that is part of a key (a letter, digit, `_`, `-` or `.`) may come before them.
_WHOLE_KEYWORDS = r"(?<![\w.-])(?:code|state|(?:o?auth|authorization)_?code|oauth_?state)"


def _masked_keeping_quotes(value: str) -> str:
    quote = value[0]
    return f"{quote}{MASK}{quote}" if quote in "\"'" else MASK


PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Header-like lines: "Authorization: Bearer x", "Cookie: a=b", "Stripe-Signature: t=..,v1=..".
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|stripe-signature|"
            r"x-wh-signature|x-ghl-signature)(\"?'?\s*[:=]\s*)(?!\[REDACTED\])([^\r\n]+)"
        ),
        r"\1\2" + MASK,
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + MASK),
    # key=value and "key": "value" forms (query strings, form bodies, JSON, reprs of dicts).
    (
        re.compile(
            rf"(?i)([\"']?(?:{_KEYWORDS}|{_WHOLE_KEYWORDS})[\"']?\s*[:=]\s*)(?!\[REDACTED\])"
            rf"(\"[^\"]*\"|'[^']*'|[^\s&,;}}\]]+)"
        ),
        # Keep the quotes so JSON and dict reprs stay well-formed.
        lambda m: (
            m.group(1) + (m.group(2)[0] + MASK + m.group(2)[0] if m.group(2)[0] in "\"'" else MASK)
        ),
    ),
    # JWTs (GHL access and refresh tokens are JWTs).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*"), MASK),
    # CryptoJS passphrase ciphertexts start with base64("Salted__") = "U2FsdGVkX1".
    (re.compile(r"U2FsdGVkX1[A-Za-z0-9+/=]*"), MASK),
    # Fernet tokens (our encrypted OAuth tokens) start with base64url(0x80) = "gAAAAA".
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), MASK),
    # Stripe secrets and signatures.
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{6,}"), MASK),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{6,}"), MASK),
    (re.compile(r"\bt=\d{9,},v\d=[0-9a-f]{16,}[^\s]*"), MASK),
    # Webhook URLs whose path is the secret (GHL workflow Inbound Webhooks, Slack incoming
    # webhooks, playbooks): scheme and host stay.
    (
        re.compile(
            r"(https?://[^/\s\"'<>]+)/(?:hooks|services|webhooks?(?:-trigger)?)/[^\s\"'<>]+"
        ),
        r"\1/" + MASK,
    ),
    # PEM blocks.
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL), MASK),
]

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName"}
)


def redact_text(text: str) -> str:
    for pattern, repl in PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_value(value: Any, depth: int = 0) -> Any:
    """Return a copy of value with secrets masked; containers are walked a few levels deep."""
    if depth > 6:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {
            k: (
                MASK
                if isinstance(k, str) and SENSITIVE_KEY.search(k)
                else redact_value(v, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact_value(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an HttpRequest, an exception) is logged through its text, scrubbed.
    return redact_text(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites the record in place: the message is rendered, scrubbed and its args dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            rendered = record.getMessage()
        except Exception:  # a bad format string must not drop the line or leak raw args
            rendered = str(record.msg)
        record.msg = redact_text(rendered)
        record.args = None
        for key in list(record.__dict__):
            if key in _STANDARD_ATTRS:
                continue
            if SENSITIVE_KEY.search(key):
                record.__dict__[key] = MASK
            elif key != "request":
                record.__dict__[key] = redact_value(record.__dict__[key])
        return True
