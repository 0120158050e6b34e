"""Operations routes; gocsm/urls.py includes them at the root:
`path("", include("gocsm.ops_urls"))`."""

from django.urls import path

from gocsm import metrics

urlpatterns = [
    path("metrics", metrics.metrics_view, name="metrics"),
]
