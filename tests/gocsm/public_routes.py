"""Reviewed public routes of the project package (unioned into the URL guard sweep)."""

PUBLIC_ROUTES = {
    # Browsers request /favicon.ico on their own, without a session (admin, error pages): a
    # redirect to a static file, no I/O, nothing about any agency.
    "favicon",
}
