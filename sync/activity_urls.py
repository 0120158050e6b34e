"""Routes of the activity tracker.

Included from sync/urls.py with `path("", include("sync.activity_urls"))`, so the names are
sync:activity:tracker, sync:activity:ingest and sync:activity:nps-*.
"""

from django.urls import path

from sync import activity_views, sentiment_views

app_name = "activity"

urlpatterns = [
    path("t/tracker.js", activity_views.tracker_js, name="tracker"),
    path("ingest/activity/", activity_views.ingest_activity, name="ingest"),
    # The tracker's NPS prompt (sync/sentiment.py).
    path("ingest/nps/ask/", sentiment_views.nps_ask, name="nps-ask"),
    path("ingest/nps/answer/", sentiment_views.nps_answer, name="nps-answer"),
    path("ingest/nps/dismiss/", sentiment_views.nps_dismiss, name="nps-dismiss"),
]
