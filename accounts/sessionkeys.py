"""What a GoCSM session holds and where it is stored: names shared by the session store
(accounts.sessions), its index (accounts.sessionindex) and identity (accounts.identity), kept
apart so none of them has to import another to know them."""

SESSION_USER = "ghl_user_pk"
SESSION_AGENCY = "agency_pk"
SESSION_ROLE = "role"
SESSION_LOCATIONS = "location_ids"
SESSION_AGENCY_EPOCH = "agency_epoch"
SESSION_USER_EPOCH = "user_epoch"

CACHE_PREFIX = "gocsm.session."


def cache_key_for(session_key: str) -> str:
    """The cache key a session is stored under."""
    return CACHE_PREFIX + session_key
