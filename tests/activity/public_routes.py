"""Reviewed public routes of the activity tracker (unioned by tests/gocsm/test_url_guard.py)."""

from django.urls import NoReverseMatch, reverse

_REVIEWED = {
    "sync:activity:tracker": "the Custom JS tracker script GHL pages load; static, no data",
    "sync:activity:ingest": "activity beacons, authenticated by the encrypted GHL payload itself",
    # The NPS prompt is asked for and answered from GHL's pages by the tracker, which has no
    # GoCSM session: like beacons, each request carries GHL's encrypted user payload, which
    # authenticates it (sync/sentiment.py); staff, foreign and uninstalled sub-accounts refused.
    "sync:activity:nps-ask": "NPS prompt: should the tracker ask this person (payload-authenticated)",
    "sync:activity:nps-answer": "NPS prompt: a sub-account user's rating (payload-authenticated)",
    "sync:activity:nps-dismiss": "NPS prompt: closed without answer (payload-authenticated)",
}


def _routed(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


# Listed once sync/urls.py includes sync.activity_urls (until then the routes do not exist).
PUBLIC_ROUTES = {name: why for name, why in _REVIEWED.items() if _routed(name)}
