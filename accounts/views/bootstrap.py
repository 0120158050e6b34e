"""`/`: the page GHL frames. Its script asks the parent for the SSO payload and signs in."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.framing import allowed_parent_origins
from gocsm.authguard import public


@public
@require_GET
def bootstrap(request):
    own_origin = f"{request.scheme}://{request.get_host()}"
    config = {
        # Origins whose REQUEST_USER_DATA_RESPONSE the script accepts (and only from the parent).
        "allowedOrigins": list(dict.fromkeys([*allowed_parent_origins(), own_origin])),
        "ssoUrl": reverse("accounts:sso"),
    }
    return render(request, "accounts/bootstrap.html", {"sso_config": config})
