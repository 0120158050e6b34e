"""Public routes added by the operations work (unioned into the URL guard sweep)."""

PUBLIC_ROUTES = {
    # Prometheus scrape endpoint: not session-authenticated but bearer-token protected
    # (METRICS_BEARER_TOKEN, constant-time compare; 404 when unset, 401 when wrong).
    "metrics",
}
