"""`/`: the page GHL frames. Its script asks the parent for the SSO payload and signs in."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.framing import bootstrap_parent_origins, sso_bootstrap
from gocsm.authguard import public


@public
@sso_bootstrap
@never_cache
@require_GET
def bootstrap(request):
    own_origin = f"{request.scheme}://{request.get_host()}"
    config = {
        # Origins whose REQUEST_USER_DATA_RESPONSE the script accepts (and only from the parent):
        # the same ones allowed to frame this response, never a list of every customer.
        "allowedOrigins": list(dict.fromkeys([*bootstrap_parent_origins(request), own_origin])),
        "ssoUrl": reverse("accounts:sso"),
    }
    return render(request, "accounts/bootstrap.html", {"sso_config": config})
