from django.urls import include, path

from sync.views import oauth, status
from sync.webhooks import views as webhooks

app_name = "sync"

urlpatterns = [
    path("", include("sync.activity_urls")),  # first: beacons are the most frequent request
    path("oauth/install/", oauth.install, name="oauth-install"),
    path("oauth/callback/", oauth.callback, name="oauth-callback"),
    path("oauth/installed/", oauth.installed, name="installed"),
    path("webhooks/ghl/", webhooks.receive, name="webhook-ghl"),
    # The status area of every page (templates/sync/_status.html).
    path("app/sync/status/", status.status_json, name="status"),
    path("app/sync/resync/", status.resync_now, name="resync"),
]
