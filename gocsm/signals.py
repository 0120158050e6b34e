"""What the base announces, so the apps above it can act without the base importing them.

The audit trail belongs to accounts, a layer above gocsm: accounts.staffaudit listens to these
(and to Django's own user_logged_in / user_logged_out) from AccountsConfig.ready().
"""

from django.dispatch import Signal

# A staff sign-in to Django admin failed (counted by gocsm.staffauth's throttle first).
# Sent with username (as typed), request and reason: "password", "second_factor" or "not_staff".
staff_sign_in_failed = Signal()

# Django admin added, changed or deleted an object, after Django's own LogEntry. Sent with
# request, action ("add", "change" or "delete"), obj, and changed_fields (a list for a change,
# None otherwise); the sender is the model class.
admin_object_changed = Signal()
