from django.urls import path

from tests.ops.naive_admin_urls import build_site

site = build_site(readonly=True)
urlpatterns = [path("admin/", site.urls)]
