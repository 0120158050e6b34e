"""The OAuth scopes GoCSM asks for: the one place they are declared (GHL_API.md §2.5).

All read-only, except `oauth.write`: GHL requires it to mint sub-account tokens from the agency
token (POST /oauth/locationToken), even for an app that never writes.
"""

SCOPES: tuple[str, ...] = (
    "companies.readonly",
    "locations.readonly",
    "users.readonly",
    "workflows.readonly",
    "calendars.readonly",
    "calendars/events.readonly",
    "products.readonly",
    "products/prices.readonly",
    "conversations.readonly",
    "oauth.readonly",
    "oauth.write",
    "saas/company.read",
    "saas/location.read",
)


def scope_string() -> str:
    return " ".join(SCOPES)
