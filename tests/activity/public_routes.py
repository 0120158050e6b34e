"""Reviewed public routes of the activity tracker (unioned by tests/gocsm/test_url_guard.py)."""

from django.urls import NoReverseMatch, reverse

_REVIEWED = {
    "sync:activity:tracker": "the Custom JS tracker script GHL pages load; static, no data",
    "sync:activity:ingest": "activity beacons, authenticated by the encrypted GHL payload itself",
}


def _routed(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


# Listed once sync/urls.py includes sync.activity_urls (until then the routes do not exist).
PUBLIC_ROUTES = {name: why for name, why in _REVIEWED.items() if _routed(name)}
