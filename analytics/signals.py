"""What analytics announces, so feature apps can act on it without analytics importing them."""

from django.dispatch import Signal

# An agency's current state (analytics.current_state) was rebuilt after a recompute: the nightly
# one or one a pull started. Sent with agency_id; playbooks evaluates its triggers on it.
state_refreshed = Signal()
