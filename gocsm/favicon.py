"""/favicon.ico: browsers ask for it on every origin whatever the page links to (admin, error
pages, a file opened directly). Public, no I/O: a redirect to the icon among our static files,
which WhiteNoise serves (hashed and cached for a year in production)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from gocsm.authguard import public


@public
@require_safe
@cache_control(public=True, max_age=86400)  # a day, not forever: the hashed name changes on deploy
def favicon(request):
    return HttpResponseRedirect(static("img/favicon.ico"))
