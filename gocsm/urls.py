from django.contrib import admin
from django.urls import include, path

from gocsm import errors, favicon, health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    # Before the other apps: activity beacons are by far the most frequent request, and each
    # pattern tried before theirs costs every one of them.
    path("", include("sync.urls")),
    path("", include("gocsm.ops_urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("analytics.urls")),
    path("", include("billing.urls")),
    path("", include("analytics.playbooks.urls")),
    # Always routed so the URL sweep sees it; every dev view answers 404 unless DEV_TOOLS.
    path("dev/", include("sync.devurls")),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
