"""Errors the callers of the GHL client act on."""

from __future__ import annotations


class GHLError(Exception):
    """Base class. Messages never contain tokens or response bodies."""


class AuthRevoked(GHLError):
    """The install's grant is gone (invalid_grant, uninstalled, or 401 after a fresh token).

    Stop pulling for this agency until it re-authorises; never retry in a loop.
    """


class RateLimited(GHLError):
    """GHL (or our own budget) says wait; `retry_after` is seconds until it is worth retrying."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class GHLUnavailable(GHLError):
    """5xx, timeouts or connection errors persisted past the retry budget. Retry the task later."""


class GHLTimeout(GHLUnavailable):
    """GHL did not answer (or did not finish its answer) within the read timeout or the call's
    deadline: a hang or a trickle, as opposed to an error answer."""


class BadResponse(GHLError):
    """GHL answered something we cannot use (4xx, malformed JSON, a page that makes no progress)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ResponseTooLarge(BadResponse):
    """A body past settings.GHL_MAX_RESPONSE_BYTES: refused while streaming, before parsing, and
    not retried (the same request would bring the same page)."""


class PaginationStalled(BadResponse):
    """A listing whose next page makes no progress (the same items again, a cursor that does not
    advance, a `skip`, `offset` or `page` that is ignored): stopped instead of requested again."""


class NotFound(BadResponse):
    """404: the object is gone from GHL (a deleted sub-account or user)."""


class NotPermitted(BadResponse):
    """403: the token has no access to that object (another company's, or not installed)."""
