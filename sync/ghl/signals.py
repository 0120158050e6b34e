"""Hooks for metrics: `ghl_event` is sent for every request, retry, 429 and token refresh.

Receivers get kind ("request" | "retry" | "rate_limited" | "refresh"), path, status (or None) and
resource. Never a token or a body.
"""

from django.dispatch import Signal

ghl_event = Signal()
