"""The project's URLconf plus the activity routes, until sync/urls.py includes them."""

from django.urls import include, path

from gocsm.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

urlpatterns = [*urlpatterns, path("", include("sync.activity_urls"))]
