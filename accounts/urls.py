from django.urls import include, path

from accounts.views import bootstrap, session, sso

app_name = "accounts"

urlpatterns = [
    path("", bootstrap.bootstrap, name="bootstrap"),
    path("auth/sso/", sso.sso, name="sso"),
    path("auth/logout/", session.logout, name="logout"),
    path("auth/me/", session.whoami, name="whoami"),
    path("", include("accounts.security_urls")),
]
