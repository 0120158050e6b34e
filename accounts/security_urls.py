"""The Security page route. No app_name of its own: include it from accounts/urls.py with
`path("", include("accounts.security_urls"))` so its name is `accounts:security`."""

from django.urls import path

from accounts import views_security

urlpatterns = [
    path("security/", views_security.security, name="security"),
]
