"""Development-only pages (the GHL shell). Each view answers 404 unless settings.DEV_TOOLS."""

from django.urls import path

from sync import devshell

app_name = "dev"

urlpatterns = [
    path("ghl-shell/", devshell.ghl_shell, name="ghl-shell"),
]
