"""Counts GHL client events (sync.ghl.signals.ghl_event) into the Prometheus metrics."""

from __future__ import annotations

from gocsm import metrics


def _retry_reason(status: int | None) -> str:
    if status == 429:
        return "rate_limited"
    if status is None:
        return "network"
    return "server_error"


def count_ghl_event(sender, *, kind: str, status: int | None = None, **_) -> None:
    if kind == "rate_limited":
        metrics.GHL_RATE_LIMITED.inc()
    elif kind == "retry":
        metrics.GHL_RETRIES.labels(reason=_retry_reason(status)).inc()
