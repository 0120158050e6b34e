from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("app/", views.overview, name="overview"),
    path("app/at-risk/", views.at_risk, name="at-risk"),
    path("app/adoption/", views.adoption, name="adoption"),
    path("app/logins/", views.logins, name="logins"),
    path("app/revenue/", views.revenue, name="revenue"),
    path("app/churn/", views.churn_prediction, name="churn"),
    path("app/settings/", views.score_settings, name="settings"),
    path("app/settings/nps/", views.nps_settings, name="nps-settings"),
    path("app/feedback/", views.feedback, name="feedback"),
    path("app/locations/<str:ghl_id>/", views.location_detail, name="location-detail"),
    path("app/locations/<str:ghl_id>/nps/", views.nps_location, name="location-nps"),
    path(
        "app/locations/<str:ghl_id>/manual-mrr/", views.set_location_mrr, name="location-manual-mrr"
    ),
    path("app/revenue/manual-mrr/", views.upload_mrr, name="manual-mrr-upload"),
    path("app/segments/", views.segments_page, name="segments"),
    path("app/bulk/", views.bulk_action, name="bulk"),
    path("app/locations/<str:ghl_id>/tags/", views.location_tags, name="location-tags"),
    path("app/locations/<str:ghl_id>/csm/", views.location_csm, name="location-csm"),
]
