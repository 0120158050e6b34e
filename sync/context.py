"""Template context: the status area of the shared layout (templates/sync/_status.html)."""

from __future__ import annotations

from sync.status import for_request


def connection_status(request) -> dict:
    return {"sync_status": for_request(request)}
