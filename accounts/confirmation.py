"""Confirming an SSO identity against GHL's own user record.

The SSO payload is encrypted but not signed, so it should never be trusted alone (DESIGN.md §3).
Issue 5 (the pulls) replaces confirm_user_with_ghl with a call to `GET /users/{userId}` through
the sync client, returning the role and sub-accounts GHL reports. Until then it returns the
payload's own claims unchanged.
"""

from __future__ import annotations

from accounts.models import Agency
from accounts.sso import SSOIdentity


class UserNotConfirmed(Exception):
    """GHL does not know this user for this agency (or says they are deleted)."""


def confirm_user_with_ghl(agency: Agency, identity: SSOIdentity) -> SSOIdentity:
    """The claims to sign `identity` in with, as confirmed by GHL.

    Raises UserNotConfirmed when GHL disagrees. For now: the identity's own claims (issue 5).
    """
    return identity
