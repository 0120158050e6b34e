from django.urls import include, path

from sync.views import oauth
from sync.webhooks import views as webhooks

app_name = "sync"

urlpatterns = [
    path("", include("sync.activity_urls")),  # first: beacons are the most frequent request
    path("oauth/install/", oauth.install, name="oauth-install"),
    path("oauth/callback/", oauth.callback, name="oauth-callback"),
    path("oauth/installed/", oauth.installed, name="installed"),
    path("webhooks/ghl/", webhooks.receive, name="webhook-ghl"),
]
