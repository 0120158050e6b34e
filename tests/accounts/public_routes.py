"""Reviewed public routes of the accounts app (unioned into the URL guard sweep)."""

PUBLIC_ROUTES = {
    # The page GHL frames: it has no session yet and only asks the parent for the SSO payload.
    "accounts:bootstrap",
    # The SSO entry point: Origin-checked, rate-limited, one generic 403 for every failure.
    "accounts:sso",
}
