"""The project's URLconf, with the activity routes added only if it lacks them."""

from django.urls import include, path

from gocsm.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401
from sync import urls as sync_urls

if not any(
    getattr(entry, "urlconf_name", None) == "sync.activity_urls"
    or getattr(getattr(entry, "urlconf_module", None), "__name__", "") == "sync.activity_urls"
    for entry in sync_urls.urlpatterns
):
    urlpatterns = [*urlpatterns, path("", include("sync.activity_urls"))]
