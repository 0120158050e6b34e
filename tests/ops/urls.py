"""The project's URLs plus the operations routes this branch adds, for tests until the lead wires
them into gocsm/urls.py and accounts/urls.py (harmless duplicates once wired)."""

from django.urls import URLResolver, include, path

import accounts.urls as accounts_urls
from accounts import security_urls
from gocsm import urls as root

urlpatterns = [
    path("", include("gocsm.ops_urls")),
    *[
        p
        for p in root.urlpatterns
        if not (isinstance(p, URLResolver) and p.namespace == "accounts")
    ],
    path("", include(([*security_urls.urlpatterns, *accounts_urls.urlpatterns], "accounts"))),
]

handler400 = root.handler400
handler403 = root.handler403
handler404 = root.handler404
handler500 = root.handler500
