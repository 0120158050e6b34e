"""Log formatters: JSON lines in production, readable lines in development.

Exception text is rendered only here, so both formatters redact it (and the text formatter its
whole line) as a second net behind the filter.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from gocsm.logredact import _STANDARD_ATTRS, redact_text, redact_value


def _extra(record: logging.LogRecord) -> dict:
    out = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD_ATTRS or key.startswith("_"):
            continue
        if key == "request":
            # Django attaches the HttpRequest: keep the method and the path without its query.
            out["method"] = getattr(value, "method", None)
            out["path"] = getattr(value, "path", None)
            continue
        out[key] = redact_value(value)
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update(_extra(record))
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact_text(self.formatStack(record.stack_info))
        # Every part was redacted on its own, so the JSON stays well-formed.
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        line = super().format(record)
        extra = _extra(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return redact_text(line)
