from analytics.views.churn import churn_prediction
from analytics.views.location import location_detail
from analytics.views.manualmrr import set_location_mrr, upload_mrr
from analytics.views.overview import at_risk, overview
from analytics.views.reports import adoption, logins, revenue
from analytics.views.scoresettings import score_settings
from analytics.views.segments import bulk_action, location_csm, location_tags, segments_page
from analytics.views.sentiment import feedback, nps_location, nps_settings

__all__ = [
    "adoption",
    "at_risk",
    "bulk_action",
    "churn_prediction",
    "feedback",
    "location_csm",
    "location_detail",
    "location_tags",
    "logins",
    "nps_location",
    "nps_settings",
    "overview",
    "revenue",
    "score_settings",
    "segments_page",
    "set_location_mrr",
    "upload_mrr",
]
