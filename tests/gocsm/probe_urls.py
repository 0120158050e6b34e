"""A tiny URLconf for guard tests: one protected view and one public view."""

from django.http import HttpResponse
from django.urls import path

from gocsm.authguard import public


def protected(request):
    return HttpResponse(f"hello {request.ghl_user.name}")


@public
def open_view(request):
    return HttpResponse("open")


urlpatterns = [
    path("probe/protected/", protected, name="probe-protected"),
    path("probe/public/", open_view, name="probe-public"),
]
