"""Routes of the activity tracker.

Included from sync/urls.py with `path("", include("sync.activity_urls"))`, so the names are
sync:activity:tracker and sync:activity:ingest.
"""

from django.urls import path

from sync import activity_views

app_name = "activity"

urlpatterns = [
    path("t/tracker.js", activity_views.tracker_js, name="tracker"),
    path("ingest/activity/", activity_views.ingest_activity, name="ingest"),
]
