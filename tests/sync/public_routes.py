"""Reviewed public routes of the sync app (unioned by the URL sweep in tests/gocsm)."""

PUBLIC_ROUTES = {
    "sync:oauth-install",  # marketplace entry: redirects to GHL's consent page
    "sync:oauth-callback",  # GHL's redirect back; guarded by the signed single-use state
    "sync:installed",  # static "installed" page shown after the callback
    "sync:webhook-ghl",  # GHL webhooks; every request is signature-verified
    # Development-only GHL shell: 404 unless settings.DEV_TOOLS (never in production).
    "dev:ghl-shell",
}
